/**
 * The whole server on every registry architecture's replica (pipeline/replicas/replicas.ts: the
 * real tensor sets, keys, quantization types, tokenizers and chat templates at tiny shapes), as a
 * standard LSP client sees it: `moePilot.modelPath` set to the replica; the load finishes with no
 * error message; the model card says what the file is (experts routed / used / shared, FIM,
 * template, the registry entry its name matches); an invoked completion is answered, in the
 * family's FIM format where it has one; chat answers through the model's own template; code
 * actions are offered; the routing statistics cover the MoE blocks only.
 * The weights are random: these tests check every code path a downloaded file of each
 * architecture takes, not what it writes.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, readGgufFileInfo, resolveChatWrapper } from "node-llama-cpp";
import { llamaBinaries } from "../../server/engine/nativeMoe";
import { blockSize, type GgmlType, rowBytes } from "../../pipeline/gguf/quantize";
import { allExpertRanges, expertLayout, expertRanges, prefetchTable } from "../../server/cache/expertSlices";
import { CHAT_DEFAULTS } from "../../server/chat/ChatFeature";
import { ModelCardRequest, NextEditRequest, RoutingStatsRequest } from "../../server/protocol";
import { DEEPSEEK_V3_ROUTING_FILE, HARMONY_TEST_MODELS, REPLICAS } from "../../pipeline/replicas/replicas";
import { withoutNativeBuild } from "../nativeBuild";
import { ROOT, TestClient } from "./lspClient";

/** A completion and a chat answer, greedy and seeded, with the memory budget given (next-layer prediction on). */
async function decodeWithBudget(modelPath: string, budget: "auto" | number) {
    const client = await TestClient.start({
        settings: { modelPath, completion: { debounceMs: 0 }, memory: { budget, prefetchNextLayer: true } }
    });
    try {
        const status = await client.settled();
        assert.equal(status.state, "ready", status.message);
        const uri = "file:///w/stats.py";
        await client.open(
            uri,
            "def mean(values):\n    total = 0\n    for value in values:\n        total += ",
            "python"
        );
        const completion = await client.complete(uri, { line: 3, character: 17 });
        const chat = await client.chat({ messages: [{ role: "user", content: "Explain this code." }], maxTokens: 24 });
        return {
            completion: completion?.items[0]?.insertText,
            chat: chat.text,
            cache: (await client.connection.sendRequest(RoutingStatsRequest.type)).cache
        };
    } finally {
        await client.stop();
    }
}

/** ggml's block geometry of the types the replicas use, from the pipeline's codec. */
const geometry = (type: number) => ({
    typeSize: rowBytes(type as GgmlType, blockSize(type as GgmlType)),
    blockSize: blockSize(type as GgmlType)
});

/** A memory budget (MiB) for everything but the experts and half of them (the cache plans with 95% of it). */
async function halfTheExperts(modelPath: string): Promise<number> {
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: true });
    const layout = expertLayout(info.fullTensorInfo!, geometry, statSync(modelPath).size)!;
    const budget = Math.ceil((layout.residentTotal + layout.expertTotal / 2) / 0.95 / 2 ** 20);
    assert.ok(budget * 2 ** 20 < statSync(modelPath).size, "a budget smaller than the model");
    return budget;
}

for (const replica of REPLICAS) {
    const modelPath = path.join(ROOT, "models", "test", "replicas", replica.file);
    const { count, used, shared } = replica.experts;

    describe(`the server on the ${replica.architecture} replica (${replica.file})`, () => {
        let client: TestClient;
        before(async () => {
            client = await TestClient.start({ settings: { modelPath, completion: { debounceMs: 0 } } });
            const status = await client.settled();
            assert.equal(status.state, "ready", status.message);
        });
        after(async () => {
            if (client) assert.equal(await client.stop(), 0);
        });

        test("the load finishes with no error or warning shown, and the card says what the file is", async () => {
            assert.deepEqual(
                client.messages.all.filter((m) => m.type <= 2).map((m) => m.message),
                [],
                "no error or warning message"
            );
            const { completion: card } = await client.connection.sendRequest(ModelCardRequest.type);
            assert.ok(card);
            assert.equal(card.architecture, replica.architecture);
            assert.equal(card.isMoe, true);
            assert.equal(card.expertCount, count);
            assert.equal(card.trainedK, used);
            assert.equal(card.sharedExpertCount, shared || undefined);
            assert.equal(card.chatTemplate, true);
            assert.equal(card.registry?.id, replica.registryId, "the file's name matches its registry entry");
            assert.deepEqual(
                card.fim,
                replica.fim ? { source: "family-template", family: replica.fim } : { source: "none", family: "none" },
                "FIM from the tokens its vocabulary has"
            );
        });

        test("an invoked completion is answered, in the family's FIM format where it has one", async () => {
            const format = client.logs.all.map((l) => l.message).find((m) => m.includes("completion prompt format"));
            assert.match(format ?? "", replica.fim ? /prompt format: gguf-tokens/ : /prompt format: none/);
            const uri = `file:///w/${replica.architecture}.ts`;
            const text = "function add(a: number, b: number) {\n    return \n}\n";
            await client.open(uri, text);
            const list = await client.complete(uri, { line: 1, character: 11 });
            assert.ok(list, "an answer (the list may be empty: random weights)");
            assert.deepEqual(
                client.messages.all.filter((m) => m.type <= 2).map((m) => m.message),
                [],
                "no error message after completing"
            );
        });

        test("chat answers through the model's own template", async () => {
            const result = await client.chat({
                messages: [{ role: "user", content: "What does this function return?" }],
                maxTokens: 24
            });
            assert.equal(result.template.fromModel, true, `template ${result.template.name}`);
            assert.equal(
                result.template.name,
                replica.architecture === "gpt-oss" ? "Harmony" : "JinjaTemplate",
                "node-llama-cpp's wrapper for the template"
            );
            assert.ok(result.generatedTokens > 0);
            assert.equal(result.k, used, "chat at the trained k");
            if (replica.architecture === "deepseek2") {
                // node-llama-cpp renders DeepSeek's template up to "Assistant: " (the model's turn, empty);
                // DeepSeek documents "Assistant:" (a space after it garbles the answer): the server drops it
                const llama = await getLlama({ ...llamaBinaries(), progressLogs: false });
                try {
                    const model = await llama.loadModel({ modelPath, vocabOnly: true });
                    const rendered = resolveChatWrapper(model)!
                        .generateContextState({
                            chatHistory: [
                                { type: "system", text: CHAT_DEFAULTS.systemPrompt },
                                { type: "user", text: "What does this function return?" },
                                { type: "model", response: [] }
                            ]
                        })
                        .contextText.tokenize(model.tokenizer);
                    assert.equal(model.detokenize(rendered.slice(-1)), " ", "the rendering ends in a lone space");
                    assert.equal(result.promptTokens, rendered.length - 1, "the server's prompt ends at 'Assistant:'");
                    assert.ok(!result.text.startsWith(" "), "the space the model writes is not part of the answer");
                } finally {
                    await llama.dispose();
                }
            }
        });

        test("code actions are offered on a selection", async () => {
            const uri = `file:///w/${replica.architecture}-actions.ts`;
            await client.open(uri, "const a = 1;\n");
            const actions = (await client.connection.sendRequest("textDocument/codeAction", {
                textDocument: { uri },
                range: { start: { line: 0, character: 0 }, end: { line: 0, character: 12 } },
                context: { diagnostics: [] }
            })) as { command: { command: string } }[];
            assert.ok(actions.some((a) => a.command.command === "moePilot.explain"));
        });

        test("next edits: a model trained for none of the formats is not asked, and the log says so", async () => {
            const uri = `file:///w/${replica.architecture}-next.ts`;
            await client.open(uri, "let total = 0;\ntotal += 1;\n");
            await client.edit(uri, { start: { line: 0, character: 4 }, end: { line: 0, character: 9 } }, "sum");
            const asked = client.logs.all.length;
            const answer = await client.connection.sendRequest(NextEditRequest.type, {
                textDocument: { uri },
                position: { line: 0, character: 7 }
            });
            assert.deepEqual(answer, { items: [] });
            const logged = client.logs.all.slice(asked).map((l) => l.message);
            assert.ok(
                logged.some((m) => /next edits: .* was not trained for them/.test(m)),
                logged.join("\n")
            );
            assert.ok(!logged.some((m) => /next edit \(/.test(m)), "no region was put to the model");
        });

        test("routing statistics: the routed experts of the MoE blocks", async () => {
            await client.chat({ messages: [{ role: "user", content: "Hi" }], maxTokens: 4 });
            const stats = await client.connection.sendRequest(RoutingStatsRequest.type);
            assert.equal(stats.available, true, stats.reason);
            assert.equal(stats.expertCount, count);
            assert.equal(stats.trainedK, used);
            const layers = stats.chat?.layers ?? [];
            assert.ok(layers.length > 0, "chat's routing was recorded");
            assert.ok(
                layers.every((l) => l.layer >= replica.denseBlocks),
                `no dense block among them: ${layers.map((l) => l.layer)}`
            );
        });
    });

    describe(`the expert cache on the ${replica.architecture} replica (${replica.file})`, () => {
        test("the slices cover exactly the routed experts' bytes; biases and shared experts stay resident", async () => {
            const info = await readGgufFileInfo(modelPath, { readTensorInfo: true });
            const tensors = info.fullTensorInfo!;
            const bytesOf = (t: (typeof tensors)[number]) => {
                const [rowLength, ...rest] = t.dimensions.map(Number) as [number, ...number[]];
                return rowBytes(t.ggmlType as number as GgmlType, rowLength) * rest.reduce((a, b) => a * b, 1);
            };
            const layout = expertLayout(tensors, geometry, 0)!;
            const routed = tensors.filter((t) => /_exps\.weight$/.test(t.name));
            assert.equal(layout.expertCount, count);
            assert.deepEqual(
                layout.layers.map((l) => l.block),
                [...new Set(routed.map((t) => Number(/^blk\.(\d+)\./.exec(t.name)![1])))],
                "the MoE blocks, none of the dense ones"
            );
            assert.equal(
                layout.expertTotal,
                routed.reduce((a, t) => a + bytesOf(t), 0),
                "every routed expert's bytes, once"
            );
            // ...as the file lays them out: each tensor ends where the next begins (32-byte alignment)
            const byOffset = [...tensors].sort((a, b) => Number(a.fileOffset) - Number(b.fileOffset));
            for (const t of routed) {
                const next = byOffset[byOffset.indexOf(t) + 1];
                if (!next) continue;
                const gap = Number(next.fileOffset) - Number(t.fileOffset) - bytesOf(t);
                assert.ok(gap >= 0 && gap < 32, `${t.name}: ${gap} bytes between it and the next tensor`);
            }
            const resident = tensors.filter((t) => !/_exps\.weight$/.test(t.name));
            if (replica.architecture === "gpt-oss")
                assert.ok(
                    resident.some((t) => t.name.endsWith("ffn_down_exps.bias")),
                    "expert biases exist"
                );
            if (shared > 0)
                assert.ok(
                    resident.some((t) => t.name.includes("shexp")),
                    "shared experts exist"
                );
            const ranges = allExpertRanges(layout);
            for (const r of ranges) {
                const inside = routed.some(
                    (t) => r.offset >= Number(t.fileOffset) && r.offset + r.length <= Number(t.fileOffset) + bytesOf(t)
                );
                assert.ok(inside, `range ${r.offset}+${r.length} lies in a routed expert tensor`);
                const clash = resident.find(
                    (t) => r.offset < Number(t.fileOffset) + bytesOf(t) && Number(t.fileOffset) < r.offset + r.length
                );
                assert.equal(
                    clash?.name,
                    undefined,
                    "no range touches a resident tensor (biases, shared experts, router)"
                );
            }
            // What the prefetch hook reads: each MoE block's experts' ranges, nothing for a dense block.
            const table = prefetchTable(layout);
            const perExpert = layout.layers[0]!.tensors.length;
            for (let block = 0; block < table.blocks; block++) {
                const layer = layout.layers.findIndex((l) => l.block === block);
                for (let e = 0; e < count; e++)
                    for (let j = 0; j < perExpert; j++) {
                        const at = ((block * count + e) * perExpert + j) * 2;
                        const expected = layer < 0 ? { offset: 0, length: 0 } : expertRanges(layout, layer, e)[j]!;
                        assert.deepEqual(
                            { offset: table.table[at], length: table.table[at + 1] },
                            expected,
                            `block ${block} expert ${e}`
                        );
                    }
            }
        });

        test(
            "a decode under a budget smaller than the model writes what it writes without the cache",
            { skip: withoutNativeBuild },
            async () => {
                const budgetMiB = await halfTheExperts(modelPath);
                const cached = await decodeWithBudget(modelPath, budgetMiB);
                assert.equal(cached.cache?.state, "on", cached.cache?.reason);
                const plain = await decodeWithBudget(modelPath, "auto");
                assert.equal(plain.cache?.state, "off");
                assert.ok(cached.chat.length > 0, "an answer to compare");
                assert.ok((cached.cache?.diskBytesPerToken ?? 0) > 0, "experts were read from the file as tokens ran");
                assert.equal(cached.completion, plain.completion);
                assert.equal(cached.chat, plain.chat);
            }
        );
    });
}

describe("gpt-oss's harmony turn: the answer is the final channel, not the analysis", () => {
    const answer = async (model: keyof typeof HARMONY_TEST_MODELS) => {
        const modelPath = path.join(ROOT, "models", "test", "replicas", HARMONY_TEST_MODELS[model].file);
        const client = await TestClient.start({ settings: { modelPath } });
        try {
            assert.equal((await client.settled()).state, "ready");
            const chunks: string[] = [];
            const result = await client.chat({ messages: [{ role: "user", content: "Hi" }], maxTokens: 40 }, (c) =>
                chunks.push(c.text)
            );
            assert.equal(result.template.name, "Harmony");
            return { result, streamed: chunks.join("") };
        } finally {
            await client.stop();
        }
    };

    test("a turn that only reasons in a loop shows none of it, and stops as repeating", async () => {
        const { result, streamed } = await answer("analysis");
        assert.equal(result.stopReason, "repeating", "the panel says: Stopped: repeating");
        assert.ok(result.generatedTokens < 40, `cut before the limit (${result.generatedTokens} tokens)`);
        assert.equal(result.text, "");
        assert.equal(streamed, "");
    });

    test("a final message is the answer, and ends it", async () => {
        const { result, streamed } = await answer("final");
        assert.equal(result.text, "Hello");
        assert.equal(streamed, "Hello");
        assert.equal(result.stopReason, "end-of-turn");
    });
});

describe("a routing the runtime does not fully follow is said in words", { skip: withoutNativeBuild }, () => {
    test("next-layer prediction on DeepSeek-V3-style routing (sigmoid, selection bias): off, with the reason", async () => {
        const modelPath = path.join(ROOT, "models", "test", "replicas", DEEPSEEK_V3_ROUTING_FILE);
        const budget = await halfTheExperts(modelPath);
        const client = await TestClient.start({
            settings: { modelPath, completion: { debounceMs: 0 }, memory: { budget, prefetchNextLayer: true } }
        });
        try {
            assert.equal((await client.settled()).state, "ready");
            const warning = await client.messages.find((m) => m.type === 2, "a warning");
            assert.match(
                warning.message,
                /Next-layer prediction .* is off for .*: its router chooses experts with a selection bias/
            );
            const chat = await client.chat({ messages: [{ role: "user", content: "Hi" }], maxTokens: 8 });
            assert.ok(chat.generatedTokens > 0, "the model runs, with the cache and without the prediction");
            const stats = await client.connection.sendRequest(RoutingStatsRequest.type);
            assert.equal(stats.cache?.state, "on", stats.cache?.reason);
            assert.equal(stats.cache?.predictedShare, undefined, "nothing predicted");
        } finally {
            await client.stop();
        }
    });
});
