import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, readGgufFileInfo, type Token } from "node-llama-cpp";
import { createTokenDecoder } from "../../server/engine/tokenText";

// The StarCoder vocabulary (the test model's) is one llama.cpp "cleans up" on detokenize.
const MODEL = path.resolve(import.meta.dirname, "..", "..", "models", "test", "moe-pilot-test-moe.gguf");

describe("token text", () => {
    let llama: Llama, model: LlamaModel;
    before(async () => {
        llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
        model = await llama.loadModel({ modelPath: MODEL, vocabOnly: true });
    });
    after(async () => {
        await model.dispose();
        await llama.dispose();
    });

    test("code with spaces before punctuation decodes exactly, where llama.cpp's detokenize does not", async () => {
        const decode = createTokenDecoder(model, await readGgufFileInfo(MODEL));
        const code = "if (a != b && !done) { x = y ? 1 : 2 ; } // it 's , fine . ü 文字\n\tz = 'q' ;";
        const tokens = model.tokenize(code, false);
        assert.equal(decode(tokens), code);
        assert.notEqual(
            model.detokenize(tokens),
            code,
            "llama.cpp cleans spaces for this vocabulary (the reason for the decoder)"
        );
    });

    test("control tokens decode to nothing", async () => {
        const decode = createTokenDecoder(model, await readGgufFileInfo(MODEL));
        const fim = model.tokens.infill.prefix!;
        assert.equal(decode([fim, ...model.tokenize("x", false)] as Token[]), "x");
    });
});
