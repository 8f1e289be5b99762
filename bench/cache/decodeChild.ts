/**
 * One run of bench:cache, in its own process (the parent puts it in a memory cgroup first): loads
 * a model with llama.cpp's memory map, decodes greedily and prints JSON — decode tokens/s, the
 * tokens, and with `cache` the expert cache's statistics.
 *   node --import tsx bench/cache/decodeChild.ts <model.gguf> <mode> <budgetBytes> <tokens>
 * mode: mmap | prefetch | lru | lfu | score; `+predict` after prefetch or a policy turns the
 * next-layer prediction on (each layer's input through the next layer's router, its experts read a
 * layer early; `+predict=P`: read ahead only experts the next router gives at least probability P),
 * `+pin` after a policy pins the experts it keeps with mlock; or `bandwidth`: the
 * disk's rate for expert-sized direct reads of the model's experts, 1 and 4 at a time.
 */
import { readFileSync, statSync } from "node:fs";
import { getLlama, readGgufFileInfo, type Token } from "node-llama-cpp";
import { ExpertCache } from "../../server/cache/ExpertCache";
import { allExpertRanges, expertLayout, expertRanges, prefetchTable } from "../../server/cache/expertSlices";
import type { PolicyName } from "../../server/cache/policies";
import { NativeMoeContext, llamaBinaries } from "../../server/engine/nativeMoe";

const [modelPath, modeArg, budget, count] = process.argv.slice(2) as [string, string, string, string];
// `+predict=P`: the prediction's least router probability P instead of the server's default
const predictArg = /\+predict(?:=([\d.]+))?/.exec(modeArg);
const predict = predictArg !== null;
const minProbability = predictArg?.[1] !== undefined ? Number(predictArg[1]) : undefined;
const pin = modeArg.includes("+pin");
const mode = modeArg.replace(/\+.*$/, "") as "mmap" | "prefetch" | "bandwidth" | PolicyName;
const PROMPT =
    'import numpy as np\n\n\ndef moving_average(values, window):\n    """Average of each window of values."""\n';

const llama = await getLlama({ ...llamaBinaries(), progressLogs: false });
if (mode === "bandwidth") {
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: true });
    const layout = expertLayout(info.fullTensorInfo!, NativeMoeContext.typeGeometry(llama), statSync(modelPath).size)!;
    // every expert once, in an order that defeats read-ahead (the disk's own and the host's)
    const experts = layout.layers.flatMap((_, l) =>
        Array.from({ length: layout.expertCount }, (__, e) => [l, e] as const)
    );
    const shuffled = experts.map((x, i) => ({ x, key: (i * 2654435761) % 4294967296 })).sort((a, b) => a.key - b.key);
    const ranges = shuffled.flatMap(({ x: [l, e] }) => expertRanges(layout, l, e));
    const rates = [1, 4].map((readers) => {
        const r = NativeMoeContext.readBandwidth(llama, modelPath, ranges, readers);
        if (typeof r === "string") throw new Error(r);
        return { readers, bytesPerSecond: r };
    });
    process.stdout.write(JSON.stringify({ mode: "bandwidth", expertBytes: layout.expertBytes, rates }));
    process.exit(0);
}
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 512, threads: 1 });
const expertCount = (model.fileInfo.architectureMetadata as { expert_count: number }).expert_count;
const moe = NativeMoeContext.of(context, expertCount);
if (!moe) throw new Error("the native MoE runtime is not installed (npm run native)");
moe.setTrace(true, 1 << 18);

let cache: ExpertCache | undefined;
const info = await readGgufFileInfo(modelPath, { readTensorInfo: true });
const layout = expertLayout(info.fullTensorInfo!, NativeMoeContext.typeGeometry(llama), statSync(modelPath).size)!;
const control = NativeMoeContext.memoryControl(llama, modelPath)!;
if (mode === "prefetch") {
    // the mechanism without the policy: no read-around on expert faults, experts read as chosen, nothing pinned
    control("random", allExpertRanges(layout));
    const prefetch = moe.setPrefetch(modelPath, prefetchTable(layout), predict, minProbability);
    if (prefetch !== true) throw new Error(prefetch);
} else if (mode !== "mmap") {
    const used = (model.fileInfo.architectureMetadata as { expert_used_count: number }).expert_used_count;
    const made = ExpertCache.create(layout, statSync(modelPath).size, Number(budget), used, control, mode, pin);
    if (typeof made === "string") throw new Error(made);
    cache = made;
    const prefetch = moe.setPrefetch(modelPath, cache.prefetchTable(), predict, minProbability);
    if (prefetch !== true) throw new Error(prefetch);
}

const sequence = context.getSequence();
const tokens: Token[] = [];
const prompt = model.tokenize(PROMPT);
const started = performance.now();
let firstAt = 0,
    readAtFirst = 0;
const readBytes = () => Number(/read_bytes:\s+(\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0);
for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    const rows = moe.readTrace().rows;
    cache?.observe(rows);
    if (tokens.length === 0) {
        firstAt = performance.now();
        readAtFirst = readBytes();
    }
    tokens.push(token);
    if (tokens.length >= Number(count)) break;
}
const ended = performance.now();
process.stdout.write(
    JSON.stringify({
        mode: modeArg,
        tokens,
        prediction: mode === "mmap" ? undefined : moe.prefetchStats(),
        promptMs: firstAt - started,
        evaluatedTokens: prompt.length + tokens.length,
        decodeTokensPerSecond: (tokens.length - 1) / ((ended - firstAt) / 1000),
        cache: cache ? { ...cache.stats(), residency: cache.residency() } : undefined,
        readBytes: readBytes(),
        /** The model file's pages resident at the end (mincore over the whole mapping). */
        residentFileBytes: control("residency", [{ offset: 0, length: statSync(modelPath).size }]).bytes?.[0] ?? NaN,
        rssAnonBytes: Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024,
        /** Read from storage while decoding (after the first token), per decoded token. */
        decodeReadBytesPerToken: (readBytes() - readAtFirst) / Math.max(1, tokens.length - 1)
    })
);
cache?.dispose();
await context.dispose();
await model.dispose();
