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
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ModelCardRequest, RoutingStatsRequest } from "../../server/protocol";
import { REPLICAS } from "../../pipeline/replicas/replicas";
import { ROOT, TestClient } from "./lspClient";

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

        test("routing statistics: the routed experts of the MoE blocks", async () => {
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
}
