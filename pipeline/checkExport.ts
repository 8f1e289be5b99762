/**
 * Checks that the exported GGUF computes what the PyTorch model computes: llama.cpp's logits
 * (through node-llama-cpp, as the server runs it) against PyTorch's for the same tokens, at the
 * trained expert count and at others (the exported file loaded with `metadataOverrides`).
 * Q8_0 quantization makes them close, not equal: the figure printed is the largest difference
 * relative to the logits' spread, and whether the top token agrees at every position.
 *
 *   npx tsx pipeline/checkExport.ts TRAIN_DIR MODEL.gguf
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";

const [trainDir, modelFile] = process.argv.slice(2);
if (!trainDir || !modelFile) throw new Error("usage: checkExport.ts TRAIN_DIR MODEL.gguf");
const root = path.resolve(import.meta.dirname, "..");
/** Debian's Python, which has python3-torch (a pyenv python3 earlier on PATH may not). */
const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const manifest = JSON.parse(readFileSync(path.join(trainDir, "manifest.json"), "utf8")) as {
    config: { experts: number; experts_used: number };
};
const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-check-"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const text =
    "export function sum(values: number[]): number {\n    let total = 0;\n    for (const v of values) total += v;\n    return total;\n}\n";
let failures = 0;
try {
    for (const k of [1, manifest.config.experts_used, manifest.config.experts]) {
        const model = await llama.loadModel({
            modelPath: modelFile,
            metadataOverrides: { qwen3moe: { expert_used_count: k } } as never
        });
        const tokens = model.tokenize(text, false);
        writeFileSync(path.join(dir, "tokens.json"), JSON.stringify(tokens));
        const reference = JSON.parse(
            execFileSync(
                PYTHON,
                [
                    path.join(root, "pipeline/train/reference_logits.py"),
                    trainDir,
                    path.join(dir, "tokens.json"),
                    String(k)
                ],
                { maxBuffer: 1 << 30, encoding: "utf8" }
            )
        ) as number[][];
        const context = await model.createContext({ contextSize: 512 });
        const sequence = context.getSequence();
        const out = await sequence.controlledEvaluate(
            tokens.map((t) => [t, { generateNext: { logits: true } }] as [Token, { generateNext: { logits: true } }])
        );
        let worst = 0,
            topAgree = 0;
        tokens.forEach((_, i) => {
            const ours = out[i]!.next.logits!;
            const ref = reference[i]!;
            const spread = Math.max(...ref) - Math.min(...ref);
            let maxDiff = 0,
                ourTop = 0,
                refTop = 0;
            for (let v = 0; v < ref.length; v++) {
                const o = ours.get(v as Token) ?? NaN;
                maxDiff = Math.max(maxDiff, Math.abs(o - ref[v]!));
                if (o > (ours.get(ourTop as Token) ?? -Infinity)) ourTop = v;
                if (ref[v]! > ref[refTop]!) refTop = v;
            }
            worst = Math.max(worst, maxDiff / spread);
            if (ourTop === refTop) topAgree++;
        });
        console.log(
            `k=${k}: max |llama.cpp − PyTorch| = ${(worst * 100).toFixed(2)}% of the logit range; top token agrees at ${topAgree}/${tokens.length} positions`
        );
        // Exact in F32; Q8_0 may flip a near-tie in routing, which moves a few logits further.
        if (worst > 0.01 && topAgree < 0.9 * tokens.length) failures++;
        await context.dispose();
        await model.dispose();
    }
} finally {
    rmSync(dir, { recursive: true, force: true });
    await llama.dispose();
}
process.exitCode = failures === 0 ? 0 : 1;
