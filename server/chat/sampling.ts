/**
 * How chat answers are sampled, per model, the way llama-server applies a model's defaults:
 *
 * 1. the registry entry's `chatSampling` (server/models/registry.json), copied from the model
 *    authors' published generation settings (Qwen3-Coder: 0.7 / 0.8 / 20 / 1.05; gpt-oss: 1.0 /
 *    1.0), where a parameter they leave out is off;
 * 2. else the GGUF's own `general.sampling.*` keys (llama.cpp's), the rest from the general default;
 * 3. else the general default below: not greedy (the Qwen3 cards warn that greedy decoding leads
 *    to "endless repetitions"), with a light repetition penalty over the last 64 tokens;
 *
 * then any `moePilot.chat.sampling.*` setting that is not `model` overrides its parameter.
 * Completion stays greedy (short, deterministic, cacheable): none of this applies to it.
 */
import type { ModelInspection } from "../models/inspectModel";
import { registryModelForFile } from "../models/registry";
import type { ChatSampling, ChatSamplingSettings } from "../protocol";

export type { ChatSampling };

/** The default for a model that says nothing (llama-server's defaults, a little cooler, with a repetition penalty). */
export const GENERAL_SAMPLING: ChatSampling = {
    temperature: 0.7,
    topP: 0.9,
    topK: 40,
    minP: 0.05,
    repeatPenalty: 1.1,
    presencePenalty: 0
};

/** What a parameter the model's authors leave out means: off. */
const OFF: ChatSampling = { temperature: 1, topP: 1, topK: 0, minP: 0, repeatPenalty: 1, presencePenalty: 0 };

/** Tokens the repetition penalty looks back over. */
export const REPEAT_PENALTY_WINDOW = 64;

export type ResolvedSampling = {
    sampling: ChatSampling;
    /** Where the values came from (before the settings): the registry, the GGUF, or the general default. */
    source: "registry" | "gguf" | "default";
    /** The parameters a setting overrides. */
    overridden: (keyof ChatSampling)[];
};

/** The `general.sampling.*` keys of a GGUF's metadata that say something. */
export function ggufSampling(metadata: unknown): Partial<ChatSampling> {
    const general = (metadata as { general?: { sampling?: Record<string, unknown> } } | undefined)?.general;
    const s = general?.sampling ?? {};
    const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
    const found: Partial<ChatSampling> = {
        temperature: num(s.temp),
        topP: num(s.top_p),
        topK: num(s.top_k),
        minP: num(s.min_p),
        repeatPenalty: num(s.penalty_repeat)
    };
    return Object.fromEntries(Object.entries(found).filter(([, v]) => v !== undefined)) as Partial<ChatSampling>;
}

export function resolveSampling(
    registry: Partial<ChatSampling> | undefined,
    gguf: Partial<ChatSampling>,
    settings: ChatSamplingSettings
): ResolvedSampling {
    const source = registry ? "registry" : Object.keys(gguf).length > 0 ? "gguf" : "default";
    const base: ChatSampling =
        source === "registry"
            ? { ...OFF, ...registry }
            : source === "gguf"
              ? { ...GENERAL_SAMPLING, ...gguf }
              : { ...GENERAL_SAMPLING };
    const overridden: (keyof ChatSampling)[] = [];
    for (const key of Object.keys(base) as (keyof ChatSampling)[]) {
        const value = settings[key];
        if (value !== "model") {
            base[key] = value;
            overridden.push(key);
        }
    }
    return { sampling: base, source, overridden };
}

/** The sampling of chat answers on the model `inspection` describes (undefined: a remote engine, which says nothing). */
export function samplingFor(inspection: ModelInspection | undefined, settings: ChatSamplingSettings): ResolvedSampling {
    if (!inspection) return resolveSampling(undefined, {}, settings);
    return resolveSampling(
        registryModelForFile(inspection.path)?.chatSampling,
        ggufSampling(inspection.fileInfo.metadata),
        settings
    );
}

/** One line for the model card: the values and where they came from. */
export function describeSampling(r: ResolvedSampling): string {
    const s = r.sampling;
    const values =
        s.temperature === 0
            ? "greedy (temperature 0)"
            : `temperature ${s.temperature}, top_p ${s.topP}, top_k ${s.topK || "off"}, min_p ${s.minP}`;
    const penalties = `repeat penalty ${s.repeatPenalty}${s.presencePenalty ? `, presence penalty ${s.presencePenalty}` : ""}`;
    const from = {
        registry: "the model authors' recommendation (registry)",
        gguf: "the GGUF's general.sampling metadata",
        default: "the general default (the model says nothing)"
    }[r.source];
    const overrides = r.overridden.length > 0 ? `; settings override ${r.overridden.join(", ")}` : "";
    return `${values}, ${penalties}: from ${from}${overrides}`;
}
