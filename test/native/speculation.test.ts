/**
 * Speculative decoding (server/speculation/) on the embedded model, in this process's llama.cpp
 * (the patched build where installed, else the stock one): the same greedy text with and without
 * it, for completion — an edit-like prompt (a passage typed again), fresh text, the KV cache reused
 * across requests whose prompts share a beginning — and for chat with a repeat penalty (whose
 * window, in a verify batch, must hold the draft tokens before each position); and the drafts are
 * really verified (node-llama-cpp's validation, patched by native/patches/node-llama-cpp, keeps
 * drafts longer than one token).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama, type LlamaModel, readGgufFileInfo, type Token } from "node-llama-cpp";
import { generateChat } from "../../server/chat/generateChat";
import { generate } from "../../server/completion/generate";
import { llamaBinaries, NativeMoeContext } from "../../server/engine/nativeMoe";
import { createTokenDecoder, vocabularyTexts } from "../../server/engine/tokenText";
import { type LookupPredictor, sequenceOf, speculationChoice } from "../../server/speculation/LookupPredictor";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const MODEL = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");

const source = readFileSync(path.join(ROOT, "server", "completion", "generate.ts"), "utf8");
const passage = source.slice(
    source.indexOf("export async function generate"),
    source.indexOf("export async function generate") + 1200
);
const PROMPTS = {
    // first, while the drafts' acceptance is still the prior: a run any model continues as the prompt does, so drafts
    // longer than one token are right whatever the model (later drafts depend on what the model writes and on the
    // draft lengths, which follow measured step times)
    repeat: `const xs = [${Array(24).fill(1).join(", ")}`,
    // a function, then its beginning typed again with a parameter renamed
    edit: `${passage}\n\n${passage.slice(0, 500).replace(/options/g, "opts")}`,
    fresh: source.slice(0, 900),
    // the same file with a line edited near its end: the KV cache keeps the common beginning
    editedAgain: `${passage}\n\n${passage.slice(0, 480).replace(/options/g, "settings")}`
};

describe("speculative decoding", () => {
    let llama: Llama;
    let model: LlamaModel;
    const sides: Record<"plain" | "speculative", Awaited<ReturnType<typeof side>>> = {} as never;

    async function side(enabled: boolean) {
        const fileInfo = await readGgufFileInfo(MODEL, { readTensorInfo: true });
        const context = await model.createContext({ contextSize: 1024, threads: 1, sequences: 1 });
        const moe = NativeMoeContext.of(context, fileInfo.architectureMetadata.expert_count as number);
        moe?.setTrace(true);
        const choice = speculationChoice({ enabled: enabled ? "on" : "off", llama, fileInfo, expertsUsed: 2 });
        const sequence = sequenceOf(context, choice, moe);
        return { sequence, decode: createTokenDecoder(model, fileInfo), moe };
    }

    before(async () => {
        llama = await getLlama({ ...llamaBinaries(), progressLogs: false });
        model = await llama.loadModel({ modelPath: MODEL, gpuLayers: 0 });
        sides.plain = await side(false);
        sides.speculative = await side(true);
    });
    after(() => llama?.dispose());

    const complete = (s: (typeof sides)["plain"], prompt: string) =>
        generate(model, s.sequence, s.decode, model.tokenize(prompt) as Token[], {
            maxTokens: 48,
            deadline: Infinity,
            signal: new AbortController().signal
        });

    test("auto: no predictor on the demo model, whose token reads a few MB (speculation costs more than it saves there)", async () => {
        const fileInfo = await readGgufFileInfo(MODEL, { readTensorInfo: true });
        const context = await model.createContext({ contextSize: 256, threads: 1, sequences: 1 });
        try {
            const sequence = sequenceOf(
                context,
                speculationChoice({ enabled: "auto", llama, fileInfo, expertsUsed: 2 })
            );
            assert.equal(sequence.tokenPredictor, undefined);
            // the same tensor table with every tensor 64 times larger: a memory-bound model, speculation on
            const large = {
                ...fileInfo,
                fullTensorInfo: fileInfo.fullTensorInfo!.map((t) => ({
                    ...t,
                    dimensions: [...t.dimensions.slice(0, -1), Number(t.dimensions.at(-1)) * 64]
                }))
            };
            const other = await model.createContext({ contextSize: 256, threads: 1, sequences: 1 });
            try {
                const on = sequenceOf(
                    other,
                    speculationChoice({ enabled: "auto", llama, fileInfo: large, expertsUsed: 2 })
                );
                assert.ok(on.tokenPredictor, "a token reading hundreds of MB: speculation on");
            } finally {
                await other.dispose();
            }
        } finally {
            await context.dispose();
        }
    });

    test("completion: the same greedy text with and without drafts, the cache reused between requests", async (t) => {
        for (const [name, prompt] of Object.entries(PROMPTS)) {
            const plain = await complete(sides.plain, prompt);
            const speculative = await complete(sides.speculative, prompt);
            assert.equal(speculative.text, plain.text, `${name}: the speculative text differs`);
            assert.equal(speculative.generatedTokens, plain.generatedTokens, name);
            sides.plain.moe?.readTrace();
            sides.speculative.moe?.readTrace();
        }
        const predictor = sides.speculative.sequence.tokenPredictor as LookupPredictor;
        const stats = predictor.policy.stats();
        const counted = sides.speculative.sequence.tokenPredictions;
        t.diagnostic(
            `drafts ${stats.drafts}, drafted ${stats.drafted}, accepted ${stats.accepted}; node-llama-cpp: ${JSON.stringify(counted)}`
        );
        assert.ok(stats.accepted > 0, "no draft token was accepted: speculation did not run");
        // validation works past the first draft token (node-llama-cpp 3.22.1 refuted every later one)
        assert.ok(counted.validated > stats.drafts, `validated ${counted.validated} of ${stats.drafts} drafts`);
    });

    test("chat with a repeat penalty: the same greedy answer with and without drafts", async () => {
        // a run of repeats is where a penalty that missed the draft's own tokens would answer otherwise
        for (const text of [
            `Rewrite this function with \`opts\` for \`options\`:\n\n${passage}\n\nAnswer:\n`,
            "const xs = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1"
        ]) {
            const prompt = model.tokenize(text) as Token[];
            const answer = (s: (typeof sides)["plain"]) =>
                generateChat({
                    model,
                    sequence: s.sequence,
                    decode: s.decode,
                    prompt,
                    stopTexts: [],
                    turnHeaders: false,
                    sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repeatPenalty: 1.1, presencePenalty: 0 },
                    maxTokens: 64,
                    signal: new AbortController().signal,
                    turn: { yieldIfWaited: async () => {} },
                    onText: () => {}
                });
            const plain = await answer(sides.plain);
            const speculative = await answer(sides.speculative);
            assert.ok(plain.generatedTokens > 8, `a real answer (${plain.generatedTokens} tokens)`);
            assert.equal(speculative.text, plain.text, JSON.stringify(text.slice(0, 40)));
        }
    });

    test("token healing: the same text with and without drafts while the first tokens respell a dropped one", async () => {
        const fileInfo = await readGgufFileInfo(MODEL, { readTensorInfo: true });
        const vocabulary = vocabularyTexts(fileInfo, sides.plain.decode);
        // the edit-like prompt with its last word cut: the answer must begin by spelling "opt"
        const prompt = model.tokenize(`${PROMPTS.edit}\n    const opts = `) as Token[];
        const heal = (s: (typeof sides)["plain"]) =>
            generate(model, s.sequence, s.decode, prompt, {
                maxTokens: 24,
                deadline: Infinity,
                signal: new AbortController().signal,
                heal: { text: "opt", vocabulary }
            });
        const plain = await heal(sides.plain);
        const speculative = await heal(sides.speculative);
        assert.ok(plain.text.length > 0);
        assert.equal(speculative.text, plain.text);
    });
});
