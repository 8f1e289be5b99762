/**
 * The server's settings: defaults, and validation of what a client sends. A value of the wrong
 * type or out of range is replaced by its default and reported, never trusted.
 */
import type { Settings } from "./protocol";

export const DEFAULT_SETTINGS: Settings = {
    modelPath: "",
    threads: 0,
    contextSize: 4096,
    completion: {
        enabled: true,
        experts: "auto",
        debounceMs: 120,
        maxTokens: 64,
        timeBudgetMs: 1500,
        prefixLines: 64,
        suffixLines: 16,
        extraContext: true
    },
    chat: {
        experts: "auto",
        modelPath: ""
    },
    gpu: {
        expertsOnCpu: "off"
    },
    memory: {
        budget: "auto",
        prefetchNextLayer: false
    },
    models: {
        directory: "",
        huggingFaceEndpoint: ""
    },
    remote: {
        endpoint: "",
        kind: "auto",
        model: "",
        fimFormat: "auto",
        timeoutMs: 30000
    }
};

/** Bounds that keep a typo from freezing the machine (a 10⁹-token context, a 1-hour budget). */
const LIMITS = {
    threads: [0, 256],
    contextSize: [256, 131072],
    debounceMs: [0, 5000],
    maxTokens: [1, 1024],
    timeBudgetMs: [50, 60000],
    prefixLines: [1, 2000],
    suffixLines: [0, 2000],
    "remote.timeoutMs": [100, 600000]
} as const satisfies Record<string, readonly [number, number]>;

export type SettingsProblem = { key: string, message: string };

function num(v: unknown, key: keyof typeof LIMITS, fallback: number, problems: SettingsProblem[]): number {
    if (v === undefined) return fallback;
    const [min, max] = LIMITS[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
        problems.push({ key, message: `must be a number from ${min} to ${max}; using ${fallback}` });
        return fallback;
    }
    return Math.round(v);
}

function bool(v: unknown, key: string, fallback: boolean, problems: SettingsProblem[]): boolean {
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") { problems.push({ key, message: `must be true or false; using ${fallback}` }); return fallback; }
    return v;
}

function expertCount(v: unknown, key: string, fallback: "auto" | number, problems: SettingsProblem[]): "auto" | number {
    if (v === undefined) return fallback;
    if (v === "auto" || (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 256)) return v;
    problems.push({ key, message: `must be "auto" or a whole number from 1; using ${fallback}` });
    return fallback;
}

function text(v: unknown, key: string, fallback: string, problems: SettingsProblem[], what: string): string {
    if (v === undefined) return fallback;
    if (typeof v !== "string") { problems.push({ key, message: `must be ${what}; using ${JSON.stringify(fallback)}` }); return fallback; }
    return v.trim();
}

function url(v: unknown, key: string, fallback: string, problems: SettingsProblem[]): string {
    const value = text(v, key, fallback, problems, "an http(s) URL");
    if (value === "" || /^https?:\/\/[^\s/]+/i.test(value)) return value;
    problems.push({ key, message: `must be an http(s) URL; using ${JSON.stringify(fallback)}` });
    return fallback;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Merges `raw` (untrusted) over `base`, returning valid settings and what was wrong with `raw`. */
export function parseSettings(raw: unknown, base: Settings = DEFAULT_SETTINGS): { settings: Settings, problems: SettingsProblem[] } {
    const problems: SettingsProblem[] = [];
    const r = isRecord(raw) ? raw : {};
    const c = isRecord(r.completion) ? r.completion : {};
    const b = base.completion;

    const modelPath = text(r.modelPath, "modelPath", base.modelPath, problems, "a path to a .gguf file");
    const h = isRecord(r.chat) ? r.chat : {};
    const m = isRecord(r.models) ? r.models : {};
    const rem = isRecord(r.remote) ? r.remote : {};
    let kind = base.remote.kind;
    if (rem.kind !== undefined) {
        if (rem.kind === "auto" || rem.kind === "llama-server" || rem.kind === "openai") kind = rem.kind;
        else problems.push({ key: "remote.kind", message: `must be "auto", "llama-server" or "openai"; using ${base.remote.kind}` });
    }
    const mem = isRecord(r.memory) ? r.memory : {};
    let budget = base.memory.budget;
    if (mem.budget !== undefined) {
        if (mem.budget === "auto" || (typeof mem.budget === "number" && Number.isFinite(mem.budget) && mem.budget >= 1 && mem.budget <= 16 * 2 ** 20)) budget = mem.budget === "auto" ? "auto" : Math.round(mem.budget);
        else problems.push({ key: "memory.budget", message: `must be "auto" or a number of MiB from 1; using ${base.memory.budget}` });
    }
    const g = isRecord(r.gpu) ? r.gpu : {};
    let expertsOnCpu = base.gpu.expertsOnCpu;
    if (g.expertsOnCpu !== undefined) {
        if (g.expertsOnCpu === "off" || g.expertsOnCpu === "all" || (typeof g.expertsOnCpu === "number" && Number.isInteger(g.expertsOnCpu) && g.expertsOnCpu >= 0 && g.expertsOnCpu <= 1024))
            expertsOnCpu = g.expertsOnCpu;
        else problems.push({ key: "gpu.expertsOnCpu", message: `must be "off", "all" or a number of layers; using ${base.gpu.expertsOnCpu}` });
    }

    return {
        settings: {
            modelPath,
            threads: num(r.threads, "threads", base.threads, problems),
            contextSize: num(r.contextSize, "contextSize", base.contextSize, problems),
            completion: {
                enabled: bool(c.enabled, "completion.enabled", b.enabled, problems),
                experts: expertCount(c.experts, "completion.experts", b.experts, problems),
                debounceMs: num(c.debounceMs, "debounceMs", b.debounceMs, problems),
                maxTokens: num(c.maxTokens, "maxTokens", b.maxTokens, problems),
                timeBudgetMs: num(c.timeBudgetMs, "timeBudgetMs", b.timeBudgetMs, problems),
                prefixLines: num(c.prefixLines, "prefixLines", b.prefixLines, problems),
                suffixLines: num(c.suffixLines, "suffixLines", b.suffixLines, problems),
                extraContext: bool(c.extraContext, "completion.extraContext", b.extraContext, problems)
            },
            chat: {
                experts: expertCount(h.experts, "chat.experts", base.chat.experts, problems),
                modelPath: text(h.modelPath, "chat.modelPath", base.chat.modelPath, problems, "a path to a .gguf file")
            },
            gpu: { expertsOnCpu },
            memory: { budget, prefetchNextLayer: bool(mem.prefetchNextLayer, "memory.prefetchNextLayer", base.memory.prefetchNextLayer, problems) },
            models: {
                directory: text(m.directory, "models.directory", base.models.directory, problems, "a folder path"),
                huggingFaceEndpoint: url(m.huggingFaceEndpoint, "models.huggingFaceEndpoint", base.models.huggingFaceEndpoint, problems)
            },
            remote: {
                endpoint: url(rem.endpoint, "remote.endpoint", base.remote.endpoint, problems),
                kind,
                model: text(rem.model, "remote.model", base.remote.model, problems, "a model name"),
                fimFormat: text(rem.fimFormat, "remote.fimFormat", base.remote.fimFormat, problems, "auto, none or a FIM family name"),
                timeoutMs: num(rem.timeoutMs, "remote.timeoutMs", base.remote.timeoutMs, problems)
            }
        },
        problems
    };
}

/** Settings whose change needs the model (or its contexts) loaded again. */
export function needsReload(a: Settings, b: Settings): boolean {
    return a.modelPath !== b.modelPath || a.chat.modelPath !== b.chat.modelPath || a.threads !== b.threads || a.contextSize !== b.contextSize
        || a.gpu.expertsOnCpu !== b.gpu.expertsOnCpu || a.memory.budget !== b.memory.budget || a.memory.prefetchNextLayer !== b.memory.prefetchNextLayer
        || JSON.stringify(a.remote) !== JSON.stringify(b.remote);
}
