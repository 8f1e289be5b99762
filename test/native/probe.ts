/**
 * Child process for the native runtime tests: loads llama.cpp as the server does (native build,
 * or the stock binaries with MOE_PILOT_NATIVE=off: one kind per process), evaluates a prompt at
 * each expert count asked for and prints JSON: the logits of the last positions per count, and
 * (native) the routing trace of the first evaluation and adaptive routing at its ends (p -> 1 at
 * the trained k; p = 0.01 at a cap of twice the trained k with k_min 1, and at a cap of every
 * expert with k_min 2: logits) and in between (p = 0.7, cap twice the trained k: experts used per
 * row). With `--poisoned`: logits at k = 2 and adaptive p = 0.01. With `--logits=N`: N of each
 * position's logits, evenly spaced over the vocabulary (a 150k vocabulary makes large JSON). With
 * `--loaded-too` (native): also the logits of the native build loaded at each count.
 *   node --import tsx test/native/probe.ts <model.gguf> <k,k,...> <prompt> [--poisoned] [--logits=N] [--loaded-too]
 */
import { getLlama, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { NativeMoeContext, llamaBinaries } from "../../server/engine/nativeMoe";

const [modelPath, ks, prompt, ...flags] = process.argv.slice(2) as [string, string, string, ...string[]];
const counts = ks.split(",").map(Number);
const logitSample = Number(flags.find((f) => f.startsWith("--logits="))?.slice("--logits=".length) ?? 0);
const LAST_POSITIONS = 4;
/**
 * Flash attention as MOE_PILOT_FLASH_ATTENTION says (default on, as the server runs). The runtime
 * tests compare the native and stock builds with it off: the native build's flash-attention
 * kernel (native/patches/llama.cpp/0004) accumulates in FP32 where the stock one rounds to FP16
 * at every position, so with it on the logits differ by more than the MoE runtime's own change.
 */
const flashAttention = process.env.MOE_PILOT_FLASH_ATTENTION !== "off";

const llama = await getLlama({ ...llamaBinaries(), progressLogs: false });
const native = NativeMoeContext.isAvailable(llama);
const base = await llama.loadModel({ modelPath, gpuLayers: 0 });
const expertCount = base.fileInfo.architectureMetadata.expert_count as number;
const trainedK = base.fileInfo.architectureMetadata.expert_used_count as number;
const tokens = base.tokenize(prompt, true);

/** Evaluates the whole prompt afresh on the context's sequence; the logits of its last positions. */
async function lastLogits(sequence: LlamaContextSequence): Promise<number[][]> {
    await sequence.clearHistory();
    const out = await sequence.controlledEvaluate(
        tokens.map((t, i) =>
            i >= tokens.length - LAST_POSITIONS ? [t, { generateNext: { logits: true } }] : t
        ) as never
    );
    return (out as ({ next: { logits: Map<Token, number> } } | undefined)[])
        .filter((o) => o?.next?.logits)
        .map((o) => [...o!.next.logits.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v))
        .map((row) => (logitSample > 0 ? row.filter((_, i) => i % Math.ceil(row.length / logitSample) === 0) : row));
}

/** Writes the answer and waits until it is out: a pipe takes 64 KiB at once, and exit drops the rest. */
function print(value: unknown): Promise<void> {
    return new Promise((done) => process.stdout.write(JSON.stringify(value), () => done()));
}

/** The reference: a model instance per count, loaded with the metadata override (as the fallback mode runs). */
async function loadedAt(ks: number[]): Promise<{ k: number; logits: number[][] }[]> {
    const arch = base.fileInfo.metadata.general.architecture as string;
    const out: { k: number; logits: number[][] }[] = [];
    for (const k of ks) {
        const model: LlamaModel = await llama.loadModel({
            modelPath,
            gpuLayers: 0,
            metadataOverrides: { [arch]: { expert_used_count: k } } as never
        });
        const context = await model.createContext({ contextSize: 256, threads: 1, sequences: 1, flashAttention });
        out.push({ k, logits: await lastLogits(context.getSequence()) });
        await context.dispose();
        await model.dispose();
    }
    return out;
}

const results: { k: number; logits: number[][] }[] = [];
if (flags.includes("--poisoned")) {
    // A model with one expert's weights made NaN (runtime.test.ts): at k=2 the NaN reaches the
    // logits; adaptive routing that leaves that expert out must never compute it.
    const context = await base.createContext({ contextSize: 256, threads: 1, sequences: 1, flashAttention });
    const sequence = context.getSequence();
    const moe = NativeMoeContext.of(context, expertCount)!;
    moe.setExperts(2);
    const fixed = await lastLogits(sequence);
    moe.setAdaptive(0.01, 1);
    const adaptive = await lastLogits(sequence);
    await print({ fixed, adaptive });
    await llama.dispose();
    process.exit(0);
}
let trace: unknown;
let adaptive: unknown;
let experts: number[] = [];
if (native) {
    // One context for every count, switched between requests.
    const context = await base.createContext({ contextSize: 256, threads: 1, sequences: 1, flashAttention });
    const sequence = context.getSequence();
    const moe = NativeMoeContext.of(context, expertCount)!;
    moe.setTrace(true);
    for (const k of counts) {
        experts.push(moe.setExperts(k));
        results.push({ k, logits: await lastLogits(sequence) });
        if (trace === undefined) trace = moe.readTrace();
        else moe.readTrace();
    }
    // adaptive routing at its two ends: every expert kept (p -> 1), only k_min kept (p -> 0)
    const cap = Math.min(2 * trainedK, expertCount);
    moe.setExperts(trainedK);
    moe.setAdaptive(0.999999, 1);
    const highP = await lastLogits(sequence);
    moe.setExperts(cap);
    moe.setAdaptive(0.01, 1);
    const lowP = await lastLogits(sequence);
    moe.setExperts(expertCount);
    moe.setAdaptive(0.01, 2);
    const lowPMin2 = await lastLogits(sequence);
    moe.readTrace();
    moe.setExperts(cap);
    moe.setAdaptive(0.7, 1);
    await lastLogits(sequence);
    adaptive = { highP, lowP, lowPMin2, cap, midUsed: moe.readTrace().rows.map((r) => r.experts.length) };
} else {
    results.push(...(await loadedAt(counts)));
    experts = counts;
}
// With `--loaded-too`, the native build loaded at each count as well: the same kernels as the per-context count.
const loaded = native && flags.includes("--loaded-too") ? await loadedAt(counts) : undefined;
await print({ buildType: llama.buildType, native, tokens: [...tokens], experts, results, loaded, trace, adaptive });
await llama.dispose();
