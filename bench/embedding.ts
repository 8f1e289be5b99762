/**
 * What a routing embedding costs (server/engine/routingEmbedder.ts): chunks of code evaluated
 * with every expert routed and the trace pooled, on the demo model and on the synthetic
 * memory-bound MoE (12 layers x 64 experts, 1.34 B parameters: where each token's experts are
 * the cost). One thread, as the server runs on 2 cores.
 *
 *   npm run bench:embedding [-- --chunks N]
 *
 * Prints milliseconds per 1,000 tokens for each model, with every expert routed (what the
 * embedder does) and, for comparison, at the trained k (a completion's prefill).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { syntheticMoe } from "../pipeline/syntheticMoe";
import { ComputeLane } from "../server/engine/ComputeLane";
import { loadModelFile } from "../server/engine/llama";
import { llamaBinaries, NativeMoeContext } from "../server/engine/nativeMoe";
import { RoutingEmbedder } from "../server/engine/routingEmbedder";
import { EMBEDDED_MODEL_FILE } from "../server/models/embeddedModel";
import { inspectModel } from "../server/models/inspectModel";
import { Chunker } from "../server/workspace/chunker";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({ options: { chunks: { type: "string" } } });
const CHUNKS = Number(values.chunks ?? 40);

const llama = await getLlama({ ...llamaBinaries(), progressLogs: false, logLevel: LlamaLogLevel.error });
if (!NativeMoeContext.isAvailable(llama)) throw new Error("routing embeddings need the native runtime: npm run native");

// Chunks of real code the models never trained on (semver), as the workspace index cuts them.
const dir = path.join(ROOT, "node_modules", "semver");
const files = readdirSync(path.join(dir, "functions"))
    .map((f) => path.join(dir, "functions", f))
    .concat(readdirSync(path.join(dir, "classes")).map((f) => path.join(dir, "classes", f)));
const chunker = new Chunker();
const texts: string[] = [];
for (const f of files.sort()) for (const c of await chunker.chunk(f, readFileSync(f, "utf8"))) texts.push(c.text);
const sample = texts.slice(0, CHUNKS);

for (const [name, modelPath] of [
    ["demo model", path.join(ROOT, EMBEDDED_MODEL_FILE)],
    ["synthetic memory-bound MoE", await syntheticMoe("memoryBound")]
] as const) {
    const inspection = await inspectModel(modelPath);
    const model = await loadModelFile(llama, inspection, inspection.trainedK);
    const tokens = sample.reduce((n, t) => n + Math.min(512, model.tokenize(t).length), 0);
    const figures: string[] = [];
    for (const k of [inspection.expertCount, inspection.trainedK]) {
        const embedder = new RoutingEmbedder(model, inspection, new ComputeLane(), 1, new AbortController().signal, k);
        await embedder.embed(sample[0]!); // the context, created once
        const t0 = performance.now();
        for (const text of sample) await embedder.embed(text);
        const ms = performance.now() - t0;
        figures.push(`k=${k}: ${((ms / tokens) * 1000).toFixed(0)} ms per 1,000 tokens`);
        await embedder.dispose();
    }
    console.log(
        `${name} (${inspection.layerCount} layers x ${inspection.expertCount} experts; ${sample.length} chunks, ${tokens} tokens): ${figures.join(", ")}`
    );
    await model.dispose();
}
