/**
 * Models as files and cards: inspection before use (`moePilot/model/inspect`) of the embedded
 * model, a dense GGUF, a truncated file, a non-GGUF file and a GGUF of an architecture llama.cpp
 * does not know; the loaded model's card; and a separate chat model beside the completion model,
 * with both checked to fit in memory together.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ResponseError } from "vscode-languageserver-protocol/node";
import { InspectModelRequest, ModelCardRequest, type ModelCard, type StatusParams } from "../../server/protocol";
import { ROOT, TEST_MODELS, TestClient } from "./lspClient";

const EMBEDDED = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");
const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-inspect-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("model inspection and cards", () => {
    let client: TestClient;
    const inspect = (file: string) => client.connection.sendRequest(InspectModelRequest.type, { path: file });
    const refusal = async (file: string): Promise<ResponseError<{ problem: string }>> => {
        const e = await inspect(file).then(
            () => undefined,
            (err: unknown) => err
        );
        assert.ok(e instanceof ResponseError, `refused: ${file}`);
        return e as ResponseError<{ problem: string }>;
    };
    async function use(settings: object): Promise<StatusParams> {
        const seen = client.status.all.length;
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: settings }
        });
        return client.status.next(
            (s) => (s.state === "ready" || s.state === "error") && client.status.all.indexOf(s) >= seen,
            "the load"
        );
    }

    before(async () => {
        client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        assert.equal((await client.settled()).state, "ready");
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
    });

    test("the embedded model: a MoE with its own FIM tokens, no chat template, and its memory need", async () => {
        const card: ModelCard = await inspect(EMBEDDED);
        assert.equal(card.architecture, "qwen3moe");
        assert.equal(card.isMoe, true);
        assert.equal(card.expertCount, 8);
        assert.equal(card.trainedK, 2);
        assert.equal(card.layerCount, 4);
        assert.equal(card.parts, 1);
        assert.equal(card.fim.source, "gguf-tokens");
        assert.equal(card.chatTemplate, false, "the demo model has none: a general template is used");
        assert.equal(card.quantization, "Q8_0");
        assert.ok(card.memory.needBytes > card.sizeBytes, "the file and a context");
        assert.equal(card.memory.fit.verdict, "fits");
        assert.match(card.memory.fit.reason, /needs about \d+\.\d MiB/);
    });

    test("a dense GGUF: not a MoE", async () => {
        const card = await inspect(TEST_MODELS.dense);
        assert.equal(card.isMoe, false);
        assert.equal(card.expertCount, 0);
    });

    test("a truncated file, a non-GGUF file, an unknown architecture, a later part of a split model: each refused with its reason", async () => {
        const cut = path.join(dir, "cut.gguf");
        writeFileSync(cut, readFileSync(EMBEDDED).subarray(0, 5_000_000));
        const e1 = await refusal(cut);
        assert.equal(e1.data?.problem, "truncated");
        assert.match(e1.message, /cut\.gguf is incomplete: its tensors need \d+ bytes but the file has 5000000/);

        const text = path.join(dir, "readme.gguf");
        writeFileSync(text, "# not a model\n");
        const e2 = await refusal(text);
        assert.equal(e2.data?.problem, "not-gguf");
        assert.match(e2.message, /is not a GGUF model file/);

        // The same bytes under an architecture name llama.cpp has never heard of (same length, so the file stays valid).
        const alien = path.join(dir, "alien.gguf");
        writeFileSync(
            alien,
            Buffer.from(readFileSync(EMBEDDED).toString("latin1").replaceAll("qwen3moe", "zorb9moe"), "latin1")
        );
        const e3 = await refusal(alien);
        assert.equal(e3.data?.problem, "unsupported-architecture");
        assert.match(e3.message, /uses the "zorb9moe" architecture, which the bundled llama\.cpp does not support/);

        const part2 = path.join(dir, "big-00002-of-00003.gguf");
        writeFileSync(part2, "GGUF");
        assert.match(
            (await refusal(part2)).message,
            /later part of a split model: choose its first part, big-00001-of-00003\.gguf/
        );
        const part1 = path.join(dir, "big-00001-of-00003.gguf");
        writeFileSync(part1, "GGUF");
        assert.match((await refusal(part1)).message, /split into 3 files, and big-00003-of-00003\.gguf is missing/);
    });

    test("a chat model beside the completion model; refused with a clear warning when both do not fit the memory budget", async () => {
        const both = await use({
            modelPath: TEST_MODELS.moe,
            chat: { modelPath: TEST_MODELS.dense },
            memory: { budget: "auto" }
        });
        assert.equal(both.state, "ready", both.message);
        assert.equal(both.model?.chat?.path, TEST_MODELS.dense);
        assert.equal(both.model?.chat?.isMoe, false);
        const card = await client.connection.sendRequest(ModelCardRequest.type);
        assert.equal(card.completion?.path, TEST_MODELS.moe);
        assert.equal(card.chat?.path, TEST_MODELS.dense);
        assert.equal(card.routing.available, true, "live expert statistics of the completion model");
        const answer = await client.chat({ messages: [{ role: "user", content: "def add(a, b):" }], maxTokens: 8 });
        assert.equal(answer.k, 0, "the dense chat model answered");

        const warned = client.messages.next(
            (m) => m.type === 2 && /do not fit in memory together/.test(m.message),
            "the memory warning"
        );
        const tight = await use({ memory: { budget: 12 } });
        assert.equal(tight.state, "ready");
        assert.equal(tight.model?.chat, undefined, "chat runs on the completion model");
        assert.match((await warned).message, /chat runs on .*moePilot\.chat\.modelPath/);
        await use({ chat: { modelPath: "" }, memory: { budget: "auto" }, modelPath: "" });
    });
});
