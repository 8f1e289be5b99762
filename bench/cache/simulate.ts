/**
 * Trace-driven simulation of the expert cache: routing traces recorded by the native runtime
 * (every token, every MoE layer, as decoding reads the text), replayed through per-layer caches of
 * LRU, LFU, the project's score policy and Belady's optimal, at quotas of 1x to 4x the active
 * experts per layer. Prints the hit rates (share of a token's expert uses found resident).
 *
 *   npm run sim:cache [-- --tokens N]
 *
 * Traces: the embedded demo model over held-out code (its routing was learned), and the synthetic
 * memory-bound MoE (its routing is generated with a stated skew, so it shows the policies on a
 * 64-expert layer, not a real model's locality).
 */
import { getLlama, type LlamaModel, type Token } from "node-llama-cpp";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { syntheticMoe } from "../../pipeline/syntheticMoe";
import { beladyHits, layerCache, type PolicyName } from "../../server/cache/policies";
import { NativeMoeContext, llamaBinaries } from "../../server/engine/nativeMoe";
import { EMBEDDED_MODEL_FILE } from "../../server/models/embeddedModel";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const { values } = parseArgs({ options: { tokens: { type: "string" }, decay: { type: "string" } } });
const TOKENS = Number(values.tokens ?? 4096);
const MULTIPLES = [1, 1.5, 2, 3, 4];
const POLICIES: PolicyName[] = ["lru", "lfu", "score"];

/** Per MoE layer, the experts (and weights) of each token in order. */
export type LayerTrace = { experts: number[][]; weights: number[][] };

function heldOutText(): string {
    const file = path.join(ROOT, ".cache", "corpus", "heldout.jsonl");
    if (!existsSync(file)) throw new Error("no held-out corpus: run `npx tsx pipeline/corpus/collect.ts` first");
    return readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { text: string }).text)
        .join("\n");
}

/** Decodes `tokens` in 64-token steps with an output at every position, so every layer traces every token. */
async function recordTrace(
    model: LlamaModel,
    tokens: Token[]
): Promise<{ layers: LayerTrace[]; k: number; expertCount: number }> {
    const meta = model.fileInfo.architectureMetadata as { expert_count: number; expert_used_count: number };
    const context = await model.createContext({
        contextSize: Math.min(TOKENS + 8, model.trainContextSize),
        threads: 1
    });
    const moe = NativeMoeContext.of(context, meta.expert_count);
    if (!moe) throw new Error("the native MoE runtime is not installed (npm run native): no routing trace");
    moe.setTrace(true, 1 << 20);
    const sequence = context.getSequence();
    const layers = new Map<number, LayerTrace>();
    const window = context.contextSize - 8;
    for (let start = 0; start < tokens.length; start += window) {
        await sequence.clearHistory();
        const part = tokens.slice(start, start + window);
        for (let i = 0; i < part.length; i += 64) {
            await sequence.controlledEvaluate(
                part.slice(i, i + 64).map((t) => [t, { generateNext: { token: true } }]) as never
            );
            const trace = moe.readTrace();
            if (trace.dropped > 0) throw new Error(`${trace.dropped} trace rows dropped`);
            for (const row of trace.rows.sort((a, b) => a.pos - b.pos)) {
                const l = layers.get(row.layer) ?? { experts: [], weights: [] };
                l.experts.push(row.experts);
                l.weights.push(row.weights);
                layers.set(row.layer, l);
            }
        }
    }
    await context.dispose();
    return {
        layers: [...layers.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l),
        k: meta.expert_used_count,
        expertCount: meta.expert_count
    };
}

function hitRate(trace: LayerTrace[], policy: PolicyName | "belady", capacity: number): number {
    let hits = 0,
        uses = 0;
    for (const layer of trace) {
        uses += layer.experts.reduce((a, xs) => a + xs.length, 0);
        if (policy === "belady") {
            hits += beladyHits(layer.experts, capacity);
            continue;
        }
        const cache = layerCache(policy, capacity, values.decay ? Number(values.decay) : undefined);
        layer.experts.forEach((xs, i) => {
            hits += cache.access(xs, layer.weights[i]!);
        });
    }
    return hits / Math.max(1, uses);
}

async function main() {
    const llama = await getLlama({ ...llamaBinaries(), progressLogs: false });
    const text = heldOutText();
    const models = [
        { label: "embedded demo model, held-out code", path: path.join(ROOT, EMBEDDED_MODEL_FILE) },
        { label: "synthetic memory-bound MoE (generated routing)", path: await syntheticMoe("memoryBound") }
    ];
    for (const m of models) {
        const model = await llama.loadModel({ modelPath: m.path, gpuLayers: 0 });
        const tokens = model.tokenize(text.slice(0, TOKENS * 8), false).slice(0, TOKENS);
        const started = performance.now();
        const { layers, k, expertCount } = await recordTrace(model, tokens);
        console.log(
            `\n${m.label}: ${tokens.length} tokens x ${layers.length} MoE layers, k=${k} of ${expertCount} (traced in ${((performance.now() - started) / 1000).toFixed(1)} s)`
        );
        console.log(`  quota per layer   ${POLICIES.map((p) => p.padStart(7)).join("")}  belady`);
        for (const mult of MULTIPLES) {
            const capacity = Math.round(mult * k);
            if (capacity > expertCount) continue;
            const rates = [...POLICIES, "belady" as const].map(
                (p) => `${(hitRate(layers, p, capacity) * 100).toFixed(1).padStart(6)}%`
            );
            console.log(`  ${`${mult}x k = ${capacity}`.padEnd(16)}${rates.join("")}`);
        }
        await model.dispose();
    }
    await llama.dispose();
}

await main();
