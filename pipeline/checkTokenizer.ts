/**
 * Checks that llama.cpp (through node-llama-cpp, as the server runs it) tokenizes exactly as our
 * Python tokenizer does, on every held-out file: the model is trained on Python's token ids and
 * served with llama.cpp's, so any difference is a silent quality loss.
 *
 *   npx tsx pipeline/checkTokenizer.ts TOKENIZER_JSON IDS_JSON
 * IDS_JSON: [{path, ids}] written by `python3 pipeline/train/encode_heldout.py`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { buildModel, projectTokenizer } from "./makeTestModel";

const [tokenizerJson, idsJson] = process.argv.slice(2);
if (!tokenizerJson || !idsJson) throw new Error("usage: checkTokenizer.ts TOKENIZER_JSON IDS_JSON");
const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-tok-"));
try {
    const file = path.join(dir, "vocab.gguf");
    buildModel("moe", projectTokenizer(tokenizerJson), file);
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: file, vocabOnly: true });
    const heldOut = JSON.parse(readFileSync(idsJson, "utf8")) as { path: string; text: string; ids: number[] }[];
    let mismatched = 0,
        tokens = 0;
    for (const f of heldOut) {
        const ours = model.tokenize(f.text, false) as number[];
        tokens += ours.length;
        if (ours.length !== f.ids.length || ours.some((t, i) => t !== f.ids[i])) {
            mismatched++;
            const at = ours.findIndex((t, i) => t !== f.ids[i]);
            if (mismatched <= 5)
                console.log(
                    `${f.path}: first difference at token ${at}: llama.cpp ${JSON.stringify(model.detokenize(ours.slice(at, at + 3) as never))} vs python ${JSON.stringify(model.detokenize(f.ids.slice(at, at + 3) as never))}`
                );
        }
        if (model.detokenize(ours as never) !== f.text) {
            mismatched++;
            console.log(`${f.path}: does not round-trip`);
        }
    }
    console.log(
        `${heldOut.length} files, ${tokens} tokens: ${mismatched === 0 ? "llama.cpp and Python agree on every token" : `${mismatched} files differ`}`
    );
    await model.dispose();
    await llama.dispose();
    process.exitCode = mismatched === 0 ? 0 : 1;
} finally {
    rmSync(dir, { recursive: true, force: true });
}
