/**
 * What the expert count costs and buys, on the native runtime (one context, k switched between
 * runs, as the server does):
 * - decode and prefill tokens/s at each k, for the embedded model and for a synthetic MoE large
 *   enough to be bound by memory bandwidth (pipeline/syntheticMoe.ts; made on first run, ~1 min) or
 *   the MoE `--model` names (bench/memoryBoundModel.ts); for that one also the weight bytes a token
 *   reads and the bandwidth that implies;
 * - held-out bits per byte at each k for the embedded model, and for adaptive routing (the
 *   average k it picked, from the routing trace).
 * Prints the tables and writes docs/bench-experts.md and docs/bench-experts.svg (for `--model`,
 * under .cache/bench/<model>/).
 *
 *   npm run bench:experts [-- --quick] [--threads N] [--model model.gguf]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
    getLlama,
    type LlamaContextSequence,
    type LlamaModel,
    LlamaLogLevel,
    readGgufFileInfo,
    type Token
} from "node-llama-cpp";
import { NativeMoeContext, llamaBinaries } from "../server/engine/nativeMoe";
import { createTokenDecoder } from "../server/engine/tokenText";
import { EMBEDDED_COMPLETION_ADAPTIVE, EMBEDDED_MODEL_FILE } from "../server/models/embeddedModel";
import type { AdaptiveRouting } from "../server/protocol";
import { generate } from "../server/completion/generate";
import { type LookupPredictor, sequenceOf, speculationChoice } from "../server/speculation/LookupPredictor";
import { lineChart } from "./lineChart";
import { makeWorkload } from "./peer/workload";
import { bytesPerToken, copyBandwidth, sourceCommit } from "./machine";
import { memoryBoundModel } from "./memoryBoundModel";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
    options: { quick: { type: "boolean" }, threads: { type: "string" }, model: { type: "string" } }
});
const QUICK = values.quick === true;
// the server's default on this machine: physical cores minus one (one on 2 cores)
/** llama.cpp's own timing lines (llama_perf, info level: LlamaContext.printTimings); errors pass through. */
const perfLines: string[] = [];
const llama = await getLlama({
    ...llamaBinaries(),
    progressLogs: false,
    logLevel: LlamaLogLevel.info,
    logger: (level, message) => {
        if (message.includes("llama_perf_context_print")) perfLines.push(message);
        else if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) console.error(message.trimEnd());
    }
});
const THREADS = Number(values.threads ?? Math.max(1, llama.cpuMathCores - 1));
if (!NativeMoeContext.isAvailable(llama))
    throw new Error(
        "bench:experts needs the native runtime: run `npm run native` (the loaded llama.cpp is the stock one)"
    );

const SPEED = { promptTokens: 256, decodeTokens: QUICK ? 16 : 48, runs: QUICK ? 1 : 3 };
const PERPLEXITY = { tokens: QUICK ? 1024 : 8192, window: 256 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Text to prompt with: the project's own source (the same on every machine, never trained on). */
const promptText = ["server/engine/Engine.ts", "server/completion/CompletionFeature.ts"]
    .map((f) => readFileSync(path.join(ROOT, f), "utf8"))
    .join("\n");

/** A way to route: a fixed k, or adaptive routing (gate mass p, at least kMin) capped at k. */
type Setting = { name: string; k: number; adaptive?: AdaptiveRouting };
/** averageK: over the decoded tokens' rows of the routing trace (the setting's k when fixed). */
type Speed = { setting: string; k: number; averageK: number; prefill: number; decode: number };

const fixed = (counts: number[]): Setting[] => counts.map((k) => ({ name: `k=${k}`, k }));
/** Adaptive routing capped at the trained k, at each gate mass p (the rule `auto` chooses from). */
const ADAPTIVE_P = [0.5, 0.6, 0.7, 0.8, 0.9];
const adaptive = (cap: number): Setting[] =>
    ADAPTIVE_P.map((p) => ({ name: `adaptive p=${p}, k≤${cap}`, k: cap, adaptive: { p, kMin: 1 } }));

async function speeds(model: LlamaModel, expertCount: number, settings: Setting[]): Promise<Speed[]> {
    const context = await model.createContext({
        contextSize: SPEED.promptTokens + SPEED.decodeTokens + 16,
        threads: THREADS,
        sequences: 1
    });
    const moe = NativeMoeContext.of(context, expertCount)!;
    const sequence = context.getSequence();
    const prompt = model.tokenize(promptText, false).slice(0, SPEED.promptTokens);
    const use = (s: Setting) => {
        moe.setExperts(s.k);
        moe.setAdaptive(s.adaptive?.p ?? 0, s.adaptive?.kMin ?? 1);
    };
    // Rounds over every setting rather than a setting's runs back to back: this VM's speed drifts
    // by tens of percent over minutes, and the ratios between settings are what the tables say.
    const times = settings.map(() => ({ prefill: [] as number[], decode: [] as number[] }));
    for (let run = 0; run <= SPEED.runs; run++)
        for (const [i, s] of settings.entries()) {
            use(s);
            const r = await timeOnce(sequence, prompt);
            if (run > 0) {
                times[i]!.prefill.push(r.prefill);
                times[i]!.decode.push(r.decode);
            } // round 0 warms the graph and the page cache
        }
    const out: Speed[] = [];
    for (const [i, s] of settings.entries()) {
        use(s);
        const { prefill, decode } = times[i]!;
        // the experts the decoded tokens used, from one more run with the trace on (not timed)
        let averageK = s.k;
        if (s.adaptive) {
            moe.setTrace(true, 1 << 16);
            await timeOnce(sequence, prompt);
            const rows = moe.readTrace().rows.filter((r) => r.pos >= prompt.length);
            averageK = rows.reduce((a, r) => a + r.experts.length, 0) / rows.length;
            moe.setTrace(false);
        }
        out.push({ setting: s.name, k: s.k, averageK, prefill: median(prefill), decode: median(decode) });
        console.log(
            `  ${s.name}: prefill ${median(prefill).toFixed(1)} tokens/s, decode ${median(decode).toFixed(1)} tokens/s` +
                (s.adaptive ? `, average k ${averageK.toFixed(2)}` : "")
        );
    }
    moe.setAdaptive(0);
    await context.dispose();
    return out;
}

/**
 * Prefill of the prompt (to its first generated token), then greedy decoding of up to
 * SPEED.decodeTokens more; the rate counts the tokens really decoded (an end-of-generation token
 * ends the run early, and an empty step must not count as a decoded token).
 */
async function timeOnce(sequence: LlamaContextSequence, prompt: Token[], decodeTokens = SPEED.decodeTokens) {
    await sequence.clearHistory();
    const it = sequence.evaluate(prompt, { temperature: 0 })[Symbol.asyncIterator]();
    const t0 = performance.now();
    await it.next();
    const t1 = performance.now();
    let decoded = 0;
    for (let i = 0; i < decodeTokens; i++) {
        if ((await it.next()).done) break;
        decoded++;
    }
    const t2 = performance.now();
    await it.return?.();
    return {
        prefill: prompt.length / ((t1 - t0) / 1000),
        decode: decoded / ((t2 - t1) / 1000),
        decoded,
        decodeMs: t2 - t1
    };
}

/** Held-out text: the corpus's held-out split when it is here (npm run model:train made it), else the project's own TypeScript. */
function heldOutText(): { source: string; text: string } {
    const heldout = path.join(ROOT, ".cache", "corpus", "heldout.jsonl");
    if (existsSync(heldout)) {
        const files = readFileSync(heldout, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { text: string });
        return {
            source: "the corpus's held-out files (.cache/corpus/heldout.jsonl)",
            text: files.map((f) => f.text).join("\n")
        };
    }
    const dirs = ["server", "src", "pipeline", "bench"];
    const files = dirs.flatMap((d) =>
        readdirSync(path.join(ROOT, d), { recursive: true, encoding: "utf8" })
            .filter((f) => f.endsWith(".ts"))
            .sort()
            .map((f) => path.join(d, f))
    );
    return {
        source: "this repository's own TypeScript (the model never saw it)",
        text: files.map((f) => readFileSync(path.join(ROOT, f), "utf8")).join("\n")
    };
}

type Quality = { setting: string; k: number; averageK: number; bitsPerByte: number };

async function quality(model: LlamaModel, expertCount: number, settings: Setting[]): Promise<Quality[]> {
    const { text } = heldOutText();
    const tokens = model.tokenize(text, false);
    const windows: Token[][] = [];
    for (
        let i = 0, n = 0;
        i + PERPLEXITY.window <= tokens.length && n < PERPLEXITY.tokens;
        i += PERPLEXITY.window, n += PERPLEXITY.window - 1
    )
        windows.push(tokens.slice(i, i + PERPLEXITY.window));
    const decode = createTokenDecoder(model, model.fileInfo);
    const context = await model.createContext({ contextSize: PERPLEXITY.window * 2, threads: THREADS, sequences: 1 });
    const moe = NativeMoeContext.of(context, expertCount)!;
    moe.setTrace(true, 1 << 18);
    const sequence = context.getSequence();
    const out: Quality[] = [];
    for (const s of settings) {
        moe.setExperts(s.k);
        moe.setAdaptive(s.adaptive?.p ?? 0, s.adaptive?.kMin ?? 1);
        moe.readTrace();
        let nats = 0,
            bytes = 0,
            used = 0,
            rows = 0;
        for (const w of windows) {
            await sequence.clearHistory();
            const res = (await sequence.controlledEvaluate(
                w.map((t, i) => (i < w.length - 1 ? [t, { generateNext: { logits: true } }] : t)) as never
            )) as ({ next: { logits: Map<Token, number> } } | undefined)[];
            for (let i = 0; i < w.length - 1; i++) {
                const logits = res[i]!.next.logits;
                let max = -Infinity,
                    sum = 0;
                for (const v of logits.values()) if (v > max) max = v;
                for (const v of logits.values()) sum += Math.exp(v - max);
                nats += max + Math.log(sum) - logits.get(w[i + 1]!)!;
                bytes += Buffer.byteLength(decode([w[i + 1]!]), "utf8");
            }
            for (const r of moe.readTrace().rows) {
                used += r.experts.length;
                rows++;
            }
        }
        const q = { setting: s.name, k: s.k, averageK: used / rows, bitsPerByte: nats / Math.LN2 / bytes };
        out.push(q);
        console.log(`  ${s.name}: ${q.bitsPerByte.toFixed(3)} bits/byte, average k ${q.averageK.toFixed(2)}`);
    }
    moe.setAdaptive(0);
    await context.dispose();
    return out;
}

// ---- speculative decoding ------------------------------------------------------------------------

const SPECULATION = { prompts: QUICK ? 2 : 6, promptTokens: 512 };
type Workload = "edit" | "fresh";
type Speculation = {
    workload: Workload;
    plain: number;
    speculative: number;
    tokens: number;
    drafts: number;
    drafted: number;
    accepted: number;
};

/**
 * The prompts: edit-like, the document before the cursor at completion requests of bench:peer's
 * replayed editing session (held-out files typed back in, with an edit far above the cursor);
 * fresh, held-out text from its beginning to a point in it.
 */
function speculationPrompts(): Record<Workload, string[]> {
    const workload = makeWorkload(ROOT, 2, 300); // as bench:peer replays it
    const docs = new Map<number, string>();
    const requests: string[] = [];
    for (const step of workload.steps) {
        if (step.kind === "open") docs.set(step.file, step.text);
        else if (step.kind === "insert") {
            const doc = docs.get(step.file)!;
            docs.set(step.file, doc.slice(0, step.offset) + step.text + doc.slice(step.offset));
        } else if (step.reason === "pause") requests.push(docs.get(step.file)!.slice(0, step.offset));
    }
    const every = (xs: string[]) =>
        Array.from(
            { length: SPECULATION.prompts },
            (_, i) => xs[Math.floor(((i + 0.5) * xs.length) / SPECULATION.prompts)]!
        );
    const fresh = heldOutText()
        .text.split(/\n(?=\S)/)
        .reduce<string[]>((chunks, part) => {
            const last = chunks.at(-1);
            if (last !== undefined && last.length < 3000) chunks[chunks.length - 1] = `${last}\n${part}`;
            else chunks.push(part);
            return chunks;
        }, []);
    return { edit: every(requests), fresh: every(fresh) };
}

/**
 * Greedy completions through the server's own generate() on a sequence with and without the
 * server's speculation (a fresh predictor per workload: it learns during the run, as in the
 * server), the routing trace on as in the server; decode tokens/s over all the prompts.
 */
async function speculation(
    model: LlamaModel,
    modelPath: string,
    expertCount: number,
    prompts: Record<Workload, string[]>
): Promise<Speculation[]> {
    const fileInfo = model.fileInfo;
    const full = await readGgufFileInfo(modelPath, { readTensorInfo: true });
    const decode = createTokenDecoder(model, fileInfo);
    const out: Speculation[] = [];
    for (const workload of ["edit", "fresh"] as const) {
        // Both sides at once, a prompt on one then on the other: this VM drifts over minutes, and
        // a side measured after the other would carry the drift into the ratio.
        const sides = await Promise.all(
            [false, true].map(async (enabled) => {
                const context = await model.createContext({
                    contextSize: SPECULATION.promptTokens + SPEED.decodeTokens + 64,
                    threads: THREADS,
                    sequences: 1
                });
                const moe = NativeMoeContext.of(context, expertCount)!;
                moe.setTrace(true);
                const sequence = sequenceOf(
                    context,
                    speculationChoice({
                        enabled: enabled ? "on" : "off",
                        llama,
                        fileInfo: full,
                        expertsUsed: model.fileInfo.architectureMetadata.expert_used_count as number
                    }),
                    moe
                );
                return { context, moe, sequence, tokens: 0, ms: 0 };
            })
        );
        for (const text of prompts[workload])
            for (const side of sides) {
                const prompt = model.tokenize(text, true).slice(-SPECULATION.promptTokens);
                const r = await generate(model, side.sequence, decode, prompt, {
                    maxTokens: SPEED.decodeTokens,
                    deadline: Infinity,
                    signal: new AbortController().signal
                });
                side.moe.readTrace();
                // the first token is the prompt's; the rest are decoded
                side.tokens += Math.max(0, r.generatedTokens - 1);
                side.ms += r.decodeMs;
            }
        const [plain, spec] = sides as [(typeof sides)[0], (typeof sides)[0]];
        const predictor = spec.sequence.tokenPredictor as LookupPredictor;
        for (const side of sides) await side.context.dispose();
        const stats = predictor.policy.stats();
        const row: Speculation = {
            workload,
            plain: plain.tokens / (plain.ms / 1000),
            speculative: spec.tokens / (spec.ms / 1000),
            tokens: spec.tokens,
            ...stats
        };
        out.push(row);
        console.log(
            `  ${workload}: plain ${row.plain.toFixed(1)} tokens/s, speculative ${row.speculative.toFixed(1)} (${(row.speculative / row.plain).toFixed(2)}x); ` +
                `${row.drafts} drafts, ${row.accepted} of ${row.drafted} draft tokens accepted`
        );
    }
    return out;
}

// ---- where a decoded token's time goes ---------------------------------------------------------

const ACCOUNTING = { shortPrompt: 64, longPrompt: 1536 };
/** ms per decoded token at the trained k. */
type Accounting = {
    /** The decode loop's wall time in JavaScript, and llama.cpp's own eval time (llama_perf), same tokens. */
    wall: number;
    eval: number;
    /** At a short and a long prompt: with llama.cpp's default attention (the server's) and without flash attention. */
    short: { server: number; off: number };
    long: { server: number; off: number };
};

/**
 * The parts of a decoded token measured apart: the JavaScript round trip (the loop's wall time
 * less llama.cpp's eval time), the attention over the KV cache (the slope of ms per token between
 * a short and a long prompt), with llama.cpp's default attention (flash attention, on the CPU too)
 * and without flash attention.
 */
async function accounting(model: LlamaModel): Promise<Accounting> {
    const prompt = (n: number) => model.tokenize(promptText.repeat(8), false).slice(0, n);
    const msPerToken = async (promptTokens: number, flash: "auto" | false, timings = false) => {
        const context = await model.createContext({
            contextSize: promptTokens + SPEED.decodeTokens + 16,
            threads: THREADS,
            sequences: 1,
            flashAttention: flash,
            performanceTracking: timings
        });
        const sequence = context.getSequence();
        let decoded = 0,
            ms = 0;
        const times: number[] = [];
        for (let run = 0; run <= SPEED.runs; run++) {
            const r = await timeOnce(sequence, prompt(promptTokens));
            decoded += r.decoded;
            ms += r.decodeMs;
            if (run > 0) times.push(r.decodeMs / r.decoded);
        }
        let evalMs: number | undefined;
        if (timings) {
            perfLines.length = 0;
            await context.printTimings();
            const line = perfLines.find((l) => /\beval time/.test(l) && !/prompt eval/.test(l));
            const m = line && /eval time =\s*([\d.]+) ms \/\s*(\d+) runs/.exec(line);
            if (m) evalMs = Number(m[1]) / Number(m[2]);
        }
        await context.dispose();
        return { ms: median(times), wall: ms / decoded, evalMs };
    };
    const timed = await msPerToken(SPEED.promptTokens, "auto", true);
    const out: Accounting = {
        wall: timed.wall,
        eval: timed.evalMs ?? timed.wall,
        short: { server: (await msPerToken(ACCOUNTING.shortPrompt, "auto")).ms, off: 0 },
        long: { server: (await msPerToken(ACCOUNTING.longPrompt, "auto")).ms, off: 0 }
    };
    out.short.off = (await msPerToken(ACCOUNTING.shortPrompt, false)).ms;
    out.long.off = (await msPerToken(ACCOUNTING.longPrompt, false)).ms;
    console.log(
        `  JavaScript ${(out.wall - out.eval).toFixed(2)} ms of ${out.wall.toFixed(2)} per token; ` +
            `decode at ${ACCOUNTING.shortPrompt}/${ACCOUNTING.longPrompt}-token prompts: ${out.short.server.toFixed(1)}/${out.long.server.toFixed(1)} ms, ` +
            `without flash attention ${out.short.off.toFixed(1)}/${out.long.off.toFixed(1)} ms`
    );
    return out;
}

// ---- run ----------------------------------------------------------------------------------------

const started = Date.now();
const embeddedPath = path.join(ROOT, EMBEDDED_MODEL_FILE);
console.log(
    `threads: ${THREADS}; ${SPEED.promptTokens}-token prompt, ${SPEED.decodeTokens} decoded tokens, median of ${SPEED.runs} rounds over the settings after a warm-up round`
);

console.log("embedded demo model: speed");
const embedded = await llama.loadModel({ modelPath: embeddedPath, gpuLayers: 0 });
const eMeta = embedded.fileInfo.architectureMetadata as { expert_count: number; expert_used_count: number };
const eTrained = eMeta.expert_used_count;
const embeddedSpeeds = await speeds(embedded, eMeta.expert_count, [...fixed([1, 2, 4, 8]), ...adaptive(eTrained)]);
console.log(`embedded demo model: held-out quality (${heldOutText().source}, ${PERPLEXITY.tokens} tokens)`);
const embeddedQuality = await quality(embedded, eMeta.expert_count, [
    ...fixed([1, 2, 4, 8]),
    ...adaptive(eTrained),
    { name: "adaptive p=0.8, k≤8", k: 8, adaptive: { p: 0.8, kMin: 1 } },
    { name: "adaptive p=0.95, k≤8", k: 8, adaptive: { p: 0.95, kMin: 1 } }
]);
console.log("embedded demo model: speculative decoding");
const prompts = speculationPrompts();
const embeddedSpeculation = await speculation(embedded, embeddedPath, eMeta.expert_count, prompts);
await embedded.dispose();

console.log(`memory-bound MoE: ${values.model ? "loading" : "making or reusing"} it`);
const bound = await memoryBoundModel(values.model, ROOT);
const boundModel = await llama.loadModel({ modelPath: bound.path, gpuLayers: 0 });
// powers of two, the trained count and every expert (not always a power of two: 60, 160)
const boundCounts = [
    ...new Set([
        ...(QUICK ? [1] : Array.from({ length: Math.ceil(Math.log2(bound.experts)) }, (_, i) => 2 ** i)),
        bound.expertsUsed,
        bound.experts
    ])
]
    .filter((k) => k <= bound.experts)
    .sort((a, b) => a - b);
console.log(`${bound.name}: speed`);
const boundSpeeds: (Speed & { bytesPerToken: number })[] = [];
for (const s of await speeds(boundModel, bound.experts, [...fixed(boundCounts), ...adaptive(bound.expertsUsed)]))
    boundSpeeds.push({ ...s, bytesPerToken: (await bytesPerToken(bound.path, s.k)).bytes });
console.log(`${bound.name}: where a decoded token's time goes`);
const boundAccounting = await accounting(boundModel);
console.log(`${bound.name}: speculative decoding`);
const boundSpeculation = await speculation(boundModel, bound.path, bound.experts, prompts);
await boundModel.dispose();

// ---- report -------------------------------------------------------------------------------------

const cpu = (
    readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ??
    os.cpus()[0]?.model ??
    "unknown"
).trim();
const nlc = JSON.parse(readFileSync(path.join(ROOT, "node_modules", "node-llama-cpp", "package.json"), "utf8"))
    .version as string;
const llamaRelease = JSON.parse(
    readFileSync(path.join(ROOT, "node_modules", "node-llama-cpp", "llama", "llama.cpp.info.json"), "utf8")
).tag as string;
const commit = sourceCommit();
const isFixed = (s: { setting: string }) => s.setting.startsWith("k=");
const trainedE = embeddedSpeeds.find((s) => isFixed(s) && s.k === eTrained)!,
    trainedS = boundSpeeds.find((s) => isFixed(s) && s.k === bound.expertsUsed)!;
const trainedQ = embeddedQuality.find((q) => q.setting === `k=${eTrained}`)!;

// `auto` for completion: the adaptive setting (capped at the trained k) that is fastest while the
// demo model's held-out bits/byte stays within 1% of the trained k's. Fewer experts are never
// slower on the memory-bound model, so it is the smallest p within the bound; speed on the memory-bound one.
const QUALITY_BOUND = 1.01;
const withinBound = ADAPTIVE_P.filter(
    (p) =>
        embeddedQuality.find((q) => q.setting === `adaptive p=${p}, k≤${eTrained}`)!.bitsPerByte <=
        trainedQ.bitsPerByte * QUALITY_BOUND
);
const autoP = withinBound.length > 0 ? Math.min(...withinBound) : undefined;
const boundAuto =
    autoP === undefined
        ? undefined
        : boundSpeeds.find((s) => s.setting === `adaptive p=${autoP}, k≤${bound.expertsUsed}`)!;

// the server's `auto` uses the value committed in server/models/embeddedModel.ts: say when this run disagrees
const autoNote =
    autoP === EMBEDDED_COMPLETION_ADAPTIVE.p
        ? `The server's \`auto\` uses it (server/models/embeddedModel.ts).`
        : `**The server's \`auto\` uses p=${EMBEDDED_COMPLETION_ADAPTIVE.p} (server/models/embeddedModel.ts), not what this run measured: update it.**`;
if (autoP !== EMBEDDED_COMPLETION_ADAPTIVE.p) console.log(autoNote.replaceAll("*", ""));

/** Decode tokens/s of a fixed k = k̄ (not an integer): time per token interpolated between the two fixed counts around it. */
function fixedAt(speedsOf: Speed[], kBar: number): number {
    const fixedRows = speedsOf.filter(isFixed).sort((a, b) => a.k - b.k);
    const lo = [...fixedRows].reverse().find((s) => s.k <= kBar) ?? fixedRows[0]!;
    const hi = fixedRows.find((s) => s.k >= kBar) ?? fixedRows.at(-1)!;
    if (hi.k === lo.k) return lo.decode;
    const f = (kBar - lo.k) / (hi.k - lo.k);
    return 1 / ((1 - f) / lo.decode + f / hi.decode);
}

// the machine's limit at the trained k: one thread's copy bandwidth / the weight bytes a token reads
const bandwidth = copyBandwidth();
const trainedBytes = (await bytesPerToken(bound.path, bound.expertsUsed)).bytes;
const limitS = bandwidth / trainedBytes;

// A decoded token at the trained k in parts (memory-bound model, the speed table's prompt): the
// JavaScript round trip, the attention over the KV cache (its slope over the context, at the speed
// table's mean context), the experts (the slope of ms per token over k around the trained k) and
// what remains: the fixed weights (attention projections, router, norms, output layer) and the graph.
const fixedBytes = (await bytesPerToken(bound.path, 0)).bytes;
const parts = (() => {
    const a = boundAccounting;
    const total = 1000 / trainedS.decode;
    const javascript = Math.max(0, a.wall - a.eval);
    const perPosition = (a.long.server - a.short.server) / (ACCOUNTING.longPrompt - ACCOUNTING.shortPrompt);
    const attention = perPosition * (SPEED.promptTokens + SPEED.decodeTokens / 2);
    const points = boundSpeeds
        .filter((r) => isFixed(r) && r.k <= 2 * bound.expertsUsed)
        .map((r) => [r.k, 1000 / r.decode]);
    const mx = points.reduce((t, [k]) => t + k!, 0) / points.length;
    const my = points.reduce((t, [, ms]) => t + ms!, 0) / points.length;
    const perExpert =
        points.reduce((t, [k, ms]) => t + (k! - mx) * (ms! - my), 0) / points.reduce((t, [k]) => t + (k! - mx) ** 2, 0);
    const experts = perExpert * bound.expertsUsed;
    return { total, javascript, attention, experts, rest: total - javascript - attention - experts };
})();
const partRow = (name: string, ms: number, bytes?: number) =>
    `| ${name} | ${ms.toFixed(1)} | ${((ms / parts.total) * 100).toFixed(0)}% | ${bytes ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : "–"} | ${bytes ? `${(bytes / ms / 1e6).toFixed(1)} GB/s` : "–"} | ${bytes ? ((bytes / bandwidth) * 1000).toFixed(1) : "–"} |`;
const speculationRatio = (w: Workload) => {
    const r = boundSpeculation.find((s) => s.workload === w)!;
    return (r.speculative / r.plain).toFixed(2);
};
const speculationRows = (rows: Speculation[]) =>
    rows
        .map(
            (r) =>
                `| ${r.workload === "edit" ? "edit-like (bench:peer's replayed edits)" : "fresh (held-out text)"} | ${r.plain.toFixed(1)} | ${r.speculative.toFixed(1)} | ${x(r.speculative, r.plain)} | ${r.drafts} | ${r.drafted > 0 ? ((r.accepted / r.drafted) * 100).toFixed(0) : "–"}% | ${r.drafts > 0 ? (r.drafted / r.drafts).toFixed(1) : "–"} | ${r.tokens > 0 ? ((r.accepted / r.tokens) * 100).toFixed(0) : "–"}% |`
        )
        .join("\n");
const summary =
    `adaptive ${boundAuto ? (boundAuto.decode / trainedS.decode).toFixed(2) : "n/a"}x  ` +
    `speculative-edit ${speculationRatio("edit")}x  speculative-fresh ${speculationRatio("fresh")}x  ` +
    `limit ${((trainedS.decode / limitS) * 100).toFixed(0)}%`;
const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

const md = `# Benchmark: expert count

What the number of experts per token (k) costs and buys, on the native MoE runtime: one llama.cpp
context, k switched between runs without reloading (as the server does). Generated by
\`npm run bench:experts${bound.synthetic ? "" : ` -- --model ${path.basename(bound.path)}`}\` on ${new Date().toISOString().slice(0, 10)} (commit ${commit}); the figures are
from that run.

Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, no GPU. llama.cpp ${llamaRelease} (node-llama-cpp ${nlc} with
native/patches), CPU only, ${THREADS} thread${THREADS > 1 ? "s" : ""} (the server's default here). Speed: a ${SPEED.promptTokens}-token prompt
(prefill to its first token), then ${SPEED.decodeTokens} greedy tokens (decode); median of ${SPEED.runs} rounds over all of a table's settings (interleaved: this VM's speed drifts over minutes) after a warm-up round.

![decode speed and held-out quality by expert count](bench-experts.svg)

## Embedded demo model (${eMeta.expert_count} experts, ${eMeta.expert_used_count} trained)

| k | prefill tokens/s | decode tokens/s | decode vs trained k | held-out bits/byte |
|---|---|---|---|---|
${embeddedSpeeds
    .filter(isFixed)
    .map(
        (s) =>
            `| ${s.k}${s.k === eMeta.expert_used_count ? " (trained)" : ""} | ${s.prefill.toFixed(0)} | ${s.decode.toFixed(0)} | ${x(s.decode, trainedE.decode)} | ${embeddedQuality.find((q) => q.setting === `k=${s.k}`)!.bitsPerByte.toFixed(3)} |`
    )
    .join("\n")}

The demo model is tiny (6.7 M parameters): a token's work is mostly outside the experts (the
8k-token output layer, attention), so k moves its speed little.

Held-out quality: ${PERPLEXITY.tokens} tokens of ${heldOutText().source}, in ${PERPLEXITY.window}-token windows.

### Adaptive routing

Each token keeps the fewest of its top experts whose renormalised gate mass reaches p (at least
one, at most the cap); the others cost no matrix work (native/patches/llama.cpp/0002). Average k:
the routing trace's, over the decoded tokens (speed) and over the held-out windows (quality).
\`auto\` for completion is the fastest setting capped at the trained k whose bits/byte stays within
${((QUALITY_BOUND - 1) * 100).toFixed(0)}% of the trained k's (${(trainedQ.bitsPerByte * QUALITY_BOUND).toFixed(3)}): ${autoP === undefined ? "none qualifies, so `auto` keeps the trained k" : `**p=${autoP}**`}. ${autoNote}

| setting | average k (decode) | decode tokens/s | vs trained k | average k (held-out) | held-out bits/byte | vs trained k |
|---|---|---|---|---|---|---|
${embeddedQuality
    .filter((q) => !isFixed(q) || q.k === eTrained)
    .map((q) => {
        const sp = embeddedSpeeds.find((s) => s.setting === q.setting);
        const mark = isFixed(q)
            ? " (trained, fixed)"
            : q.setting === `adaptive p=${autoP}, k≤${eTrained}`
              ? " (auto)"
              : "";
        return `| ${q.setting}${mark} | ${sp ? sp.averageK.toFixed(2) : "–"} | ${sp ? sp.decode.toFixed(0) : "–"} | ${sp ? x(sp.decode, trainedE.decode) : "–"} | ${q.averageK.toFixed(2)} | ${q.bitsPerByte.toFixed(3)} | ${((q.bitsPerByte / trainedQ.bitsPerByte - 1) * 100).toFixed(1)}% |`;
    })
    .join("\n")}

## ${bound.synthetic ? "Synthetic memory-bound MoE" : `Memory-bound MoE: ${bound.name}`}

${bound.description}: ${(statSync(bound.path).size / 2 ** 30).toFixed(2)} GiB on disk${
    bound.synthetic
        ? `, made by
\`pipeline/syntheticMoe.ts\` (not committed). Its text is meaningless; its speed is not.`
        : "."
}

| k | prefill tokens/s | decode tokens/s | decode vs k=${bound.expertsUsed} | weights read per token | implied bandwidth |
|---|---|---|---|---|---|
${boundSpeeds
    .filter(isFixed)
    .map(
        (s) =>
            `| ${s.k}${s.k === bound.expertsUsed ? " (trained)" : ""} | ${s.prefill.toFixed(1)} | ${s.decode.toFixed(1)} | ${x(s.decode, trainedS.decode)} | ${(s.bytesPerToken / 2 ** 20).toFixed(0)} MiB | ${((s.bytesPerToken * s.decode) / 1e9).toFixed(1)} GB/s |`
    )
    .join("\n")}

Implied bandwidth = weight bytes a decoded token reads x decode tokens/s: where it stays flat as k
grows, decoding is bound by memory bandwidth and its speed falls in proportion to the bytes.

### Adaptive routing

The same settings as on the demo model, capped at this model's trained k=${bound.expertsUsed}. "Fixed k = k̄":
the fixed-k speeds above interpolated (in time per token) at the average k the setting used; a
ratio near 1.00x says the left-out experts cost nothing. ${
    bound.synthetic
        ? `Its router is random (with a popularity
skew), so its gate mass is spread differently from the demo model's and the same p keeps a different k̄.`
        : "Its router spreads its gate mass its own way, so the same p keeps a different k̄ than on the demo model."
}

| setting | average k (decode) | decode tokens/s | vs trained k | fixed k = k̄ | vs fixed k = k̄ |
|---|---|---|---|---|---|
${boundSpeeds
    .filter((s) => !isFixed(s))
    .map((s) => {
        const f = fixedAt(boundSpeeds, s.averageK);
        return `| ${s.setting}${s === boundAuto ? " (auto)" : ""} | ${s.averageK.toFixed(2)} | ${s.decode.toFixed(1)} | ${x(s.decode, trainedS.decode)} | ${f.toFixed(1)} | ${x(s.decode, f)} |`;
    })
    .join("\n")}

## Speculative decoding

Prompt-lookup drafts (server/speculation/), through the server's own \`generate()\`, greedy, with
and without speculation on the same prompts, each prompt on one side and then the other: ${SPECULATION.prompts} edit-like prompts (the document before the
cursor at completion requests of bench:peer's replayed editing session) and ${SPECULATION.prompts} fresh ones (held-out
text), the last ${SPECULATION.promptTokens} tokens each, ${SPEED.decodeTokens} tokens generated; the routing trace on, as in the server. The
draft policy starts from its priors on each workload and learns during it. Acceptance: draft tokens
the model agreed with; "of decoded": the share of decoded tokens that came from drafts.

The demo model (6.7 M parameters) sits in the CPU's caches: a verify batch costs nearly what its
tokens cost one by one, so a draft pays only where most of it holds, and node-llama-cpp's
speculative path costs about 0.2 ms per token whether it drafts or not (a sixth of a step there,
under a hundredth on the synthetic model). So \`speculativeDecoding: auto\` leaves it off on a model
whose token reads under 64 MiB; the rows below force it on.${
    bound.synthetic
        ? ` The synthetic model is memory-bound but its text is
random: it copies from its prompt only by chance, and the drafts that hold are mostly its own
loops, on both workloads.`
        : ""
}

Embedded demo model:

| workload | plain tokens/s | speculative tokens/s | ratio | drafts | accepted | draft length | of decoded |
|---|---|---|---|---|---|---|---|
${speculationRows(embeddedSpeculation)}

${bound.synthetic ? "Synthetic memory-bound MoE" : bound.name}:

| workload | plain tokens/s | speculative tokens/s | ratio | drafts | accepted | draft length | of decoded |
|---|---|---|---|---|---|---|---|
${speculationRows(boundSpeculation)}

## Where a decoded token's time goes

${bound.synthetic ? "The synthetic MoE" : bound.name} at its trained k (${bound.expertsUsed}), the speed table's ${SPEED.promptTokens}-token prompt, ${THREADS} thread${THREADS > 1 ? "s" : ""}: ${parts.total.toFixed(1)} ms per token. JavaScript:
the decode loop's wall time (${boundAccounting.wall.toFixed(1)} ms per token) less llama.cpp's own eval time
(${boundAccounting.eval.toFixed(1)} ms, llama_perf) — the round trip through node-llama-cpp and the sampling.
Attention: ${ACCOUNTING.shortPrompt}- and ${ACCOUNTING.longPrompt}-token prompts decode at ${boundAccounting.short.server.toFixed(1)} and
${boundAccounting.long.server.toFixed(1)} ms per token; the slope, at this table's mean context. Experts: the slope of
ms per token over k (k ≤ ${2 * bound.expertsUsed}, the table above) x ${bound.expertsUsed}. The rest: the fixed weights (attention projections,
router, norms, output layer) and the graph. "At the limit": the part's bytes at the copy bandwidth.

| part | ms per token | share | weights read | rate | ms at the limit |
|---|---|---|---|---|---|
${partRow("JavaScript round trip and sampling", parts.javascript)}
${partRow(`attention over the KV cache (${SPEED.promptTokens + SPEED.decodeTokens / 2} positions on average)`, parts.attention)}
${partRow(`expert weights (${bound.expertsUsed} of ${bound.experts} in each of ${bound.layers} layers)`, parts.experts, trainedBytes - fixedBytes)}
${partRow("fixed weights and the rest of the graph", parts.rest, fixedBytes)}
${partRow("a decoded token", parts.total, trainedBytes)}

The attention is flash attention (llama.cpp's \`auto\` turns it on for the CPU too), as in the
server, with the native build's kernel (native/patches/llama.cpp/0004: blocks of 64 KV positions,
vectorised exponentials, an FP32 accumulator; stock llama.cpp walks the positions one by one into
an FP16 accumulator). Without flash attention ${bound.name} decodes at ${boundAccounting.short.off.toFixed(1)} ms per token at the ${ACCOUNTING.shortPrompt}-token prompt and
${boundAccounting.long.off.toFixed(1)} at ${ACCOUNTING.longPrompt} (with it: ${boundAccounting.short.server.toFixed(1)} and ${boundAccounting.long.server.toFixed(1)}; ${x(boundAccounting.long.server, boundAccounting.long.off)} the time at ${ACCOUNTING.longPrompt}).
The server keeps flash attention: without it llama.cpp's attention multiplies V through its
matrix kernels, which sum in another order for a batch (a speculative verify batch, a prompt)
than for one token, so greedy output could change with speculation and with the editing history;
flash attention takes every query under 64 through the same per-query kernel.

What remains is llama.cpp's CPU kernels. A token's experts go through \`MUL_MAT_ID\`, which calls
the Q8_0 dot product (\`ggml_vec_dot_q8_0_q8_0\`) row by row. ${
    cpuHasAmx()
        ? `On this CPU (it has AMX) the fixed weights sit in the AMX buffer type and go through its VNNI
kernels (that buffer type does not take \`MUL_MAT_ID\`): compare the two rates above.`
        : `This CPU has no AMX, so the fixed weights go through the same dot product; the experts' rate is
lower because a token reads them in slices of a few hundred KiB at scattered places, and because
their slope over k also carries each slot's other work (activation, gate weight, sum).`
} (Kernel names from \`perf record\` on the development machine.)

## Summary

The machine's limit at the trained k: one thread copies ${(bandwidth / 1e9).toFixed(1)} GB/s (read + write); a
token reads ${(trainedBytes / 2 ** 20).toFixed(0)} MiB, so at most ${limitS.toFixed(0)} tokens/s. Adaptive: ${bound.name} at \`auto\`'s
setting ÷ its trained k; limit: its trained-k decode ÷ that limit; speculative: ${bound.name}'s decode
with speculation ÷ without, on each workload.

\`${summary}\`

Run time: ${Math.round((Date.now() - started) / 1000)} s.
`;

const svg = lineChart([
    {
        title: "Decode speed vs k (relative to the trained k)",
        xLabel: "experts per token (k; adaptive: average)",
        yLabel: "decode speed, x trained k",
        logX: true,
        yFrom0: true,
        series: [
            {
                name: `${bound.synthetic ? "synthetic MoE" : bound.name} (k=${bound.expertsUsed} trained)`,
                points: boundSpeeds.filter(isFixed).map((s) => ({ x: s.k, y: s.decode / trainedS.decode }))
            },
            {
                name: `${bound.synthetic ? "synthetic MoE" : bound.name}, adaptive (average k)`,
                dashed: true,
                points: boundSpeeds
                    .filter((s) => !isFixed(s))
                    .map((s) => ({ x: s.averageK, y: s.decode / trainedS.decode }))
                    .sort((a, b) => a.x - b.x)
            },
            {
                name: `embedded demo (k=${eMeta.expert_used_count} trained)`,
                points: embeddedSpeeds.filter(isFixed).map((s) => ({ x: s.k, y: s.decode / trainedE.decode }))
            }
        ]
    },
    {
        title: "Embedded model: held-out bits per byte vs k",
        xLabel: "experts per token (k; adaptive: average)",
        yLabel: "bits per byte (lower is better)",
        logX: true,
        series: [
            {
                name: "fixed k",
                points: embeddedQuality
                    .filter((q) => q.setting.startsWith("k="))
                    .map((q) => ({ x: q.k, y: q.bitsPerByte }))
            },
            {
                name: "adaptive (p, cap)",
                dashed: true,
                points: embeddedQuality
                    .filter((q) => !q.setting.startsWith("k="))
                    .map((q) => ({ x: q.averageK, y: q.bitsPerByte }))
                    .sort((a, b) => a.x - b.x)
            }
        ]
    }
]);

if (!QUICK) {
    mkdirSync(bound.pagesDir, { recursive: true });
    writeFileSync(path.join(bound.pagesDir, "bench-experts.md"), md);
    writeFileSync(path.join(bound.pagesDir, "bench-experts.svg"), svg);
    console.log(`wrote ${path.relative(ROOT, bound.pagesDir)}/bench-experts.md and bench-experts.svg`);
} else console.log(md);
console.log(summary);
await llama.dispose();

/** Whether the CPU has AMX (Intel's tile units, which llama.cpp's CPU backend uses for the weights MUL_MAT reads). */
function cpuHasAmx(): boolean {
    try {
        return /\bamx_int8\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
    } catch {
        return false;
    }
}
