/**
 * Completion latency through the real server over LSP (stdio), on the embedded demo model (or --model):
 * a first request on a freshly opened file, then a file typed in character by character with a
 * completion request after each one (what VS Code sends while you type).
 *
 *   npm run bench:completion [-- --model PATH] [--chars N]
 *
 * Latency is measured at the client: request sent → response received. Debounce is 0 here
 * (it adds its fixed wait in real use), so the figures are the server's own cost.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { InlineCompletionTriggerKind } from "vscode-languageserver-protocol/node";
import { EMBEDDED_MODEL_FILE } from "../server/models/embeddedModel";
import { ROOT, TestClient } from "../test/server/lspClient";
import { percentile } from "./stats";

const { values } = parseArgs({
    options: { model: { type: "string" }, chars: { type: "string" }, file: { type: "string" } }
});
const modelPath = values.model ?? path.join(ROOT, EMBEDDED_MODEL_FILE);
const chars = Number(values.chars ?? 400);
const source = readFileSync(values.file ?? path.join(ROOT, "server", "completion", "filters.ts"), "utf8").slice(
    0,
    chars
);

const fmt = (xs: number[]) =>
    xs.length === 0
        ? "n/a"
        : `median ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms (n=${xs.length})`;

const client = await TestClient.start({ settings: { modelPath, completion: { debounceMs: 0, extraContext: false } } });
const status = await client.settled();
if (status.state !== "ready") throw new Error(`model did not load: ${status.message}`);

const evaluatedOf = (fromLog: number) => {
    const line = client.logs.all
        .slice(fromLog)
        .map((l) => l.message)
        .find((m) => m.includes("prompt tokens evaluated"));
    const match = line && /(\d+)\/(\d+) prompt tokens evaluated/.exec(line);
    return match ? { evaluated: Number(match[1]), total: Number(match[2]) } : undefined;
};

// First request: a file the server has not seen, nothing cached.
const firstUri = "file:///bench/first.ts";
const firstText = source.slice(0, Math.min(200, source.length));
await client.open(firstUri, firstText);
const firstLines = firstText.split("\n");
const t0 = performance.now();
const firstLog = client.logs.all.length;
await client.complete(
    firstUri,
    { line: firstLines.length - 1, character: firstLines.at(-1)!.length },
    undefined,
    InlineCompletionTriggerKind.Invoked
);
const firstMs = performance.now() - t0;
const firstPrompt = evaluatedOf(firstLog);

// Typing: one character at a time, a completion request after each.
const uri = "file:///bench/typing.ts";
await client.open(uri, "");
let line = 0,
    character = 0;
const modelRuns: number[] = [],
    cacheHits: number[] = [],
    evaluated: number[] = [];
for (const ch of source) {
    await client.edit(uri, { start: { line, character }, end: { line, character } }, ch);
    if (ch === "\n") {
        line++;
        character = 0;
    } else character++;
    const from = client.logs.all.length;
    const started = performance.now();
    await client.complete(uri, { line, character }, undefined, InlineCompletionTriggerKind.Automatic);
    const ms = performance.now() - started;
    // Logs arrive before the response on the same stream, so they are in by now.
    const prompt = evaluatedOf(from);
    if (prompt) {
        modelRuns.push(ms);
        evaluated.push(prompt.evaluated);
    } else cacheHits.push(ms);
}
const finalStatus = client.status.all.at(-1);
await client.stop();

console.log(
    `model: ${status.model!.name} (${status.model!.architecture}, k=${status.completionK}/${status.model!.expertCount}), ${path.relative(ROOT, modelPath)}`
);
console.log(
    `first request:           ${firstMs.toFixed(1)} ms (${firstPrompt?.evaluated ?? "?"} prompt tokens evaluated)`
);
console.log(`typed characters:        ${source.length}`);
console.log(`  model runs:            ${fmt(modelRuns)}`);
console.log(`  cache / type-through:  ${fmt(cacheHits)}`);
console.log(`  all requests:          ${fmt([...modelRuns, ...cacheHits])}`);
console.log(
    `  prompt tokens evaluated per model run: median ${percentile(evaluated, 50)}, p95 ${percentile(evaluated, 95)}, max ${Math.max(...evaluated)}`
);
if (finalStatus?.tokensPerSecond) console.log(`  decode speed (last):   ${finalStatus.tokensPerSecond} tokens/s`);
