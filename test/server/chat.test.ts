/**
 * Chat over LSP with the real server and the random-weight test MoE (its words are noise: these
 * tests check streaming, cancellation, queueing and the context-window policy, not content).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CancellationTokenSource, ResponseError } from "vscode-languageserver-protocol/node";
import { TEST_MODELS, TestClient } from "./lspClient";

const ask = (content: string) => ({ messages: [{ role: "user" as const, content }] });

describe("chat over LSP", () => {
    let client: TestClient;
    before(async () => {
        client = await TestClient.start({ settings: { modelPath: TEST_MODELS.moe, completion: { debounceMs: 0 } } });
        assert.equal((await client.settled()).state, "ready");
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
    });

    test("the answer streams in order and the chunks add up to the result", async () => {
        const chunks: string[] = [];
        const result = await client.chat({ ...ask("What does Array.prototype.map do?"), maxTokens: 40 }, (c) =>
            chunks.push(c.text)
        );
        assert.ok(chunks.length >= 2, `several chunks (${chunks.length})`);
        assert.equal(chunks.join(""), result.text);
        assert.ok(result.generatedTokens > 0 && result.generatedTokens <= 40);
        assert.equal(result.stopReason === "max-tokens" || result.stopReason === "end-of-turn", true);
        assert.equal(result.k, 2);
        assert.deepEqual(
            result.template,
            { name: "General", fromModel: false },
            "no chat template in the model: the general default, said so"
        );
    });

    test("cancelling stops the answer at once and returns what was streamed", async () => {
        const cancel = new CancellationTokenSource();
        const chunks: string[] = [];
        let firstChunk!: () => void;
        const started = new Promise<void>((r) => {
            firstChunk = r;
        });
        const request = client.chat(
            { ...ask("Write a long story."), maxTokens: 4000 },
            (c) => {
                chunks.push(c.text);
                firstChunk();
            },
            cancel
        );
        await started;
        cancel.cancel();
        const result = await request;
        assert.equal(result.stopReason, "cancelled");
        assert.equal(result.text, chunks.join(""), "the result holds exactly what was shown");
        assert.ok(result.text.length > 0);
    });

    test("a seeded sampled answer is the same twice; another seed answers otherwise", async () => {
        const question = { ...ask("Name three sorting algorithms."), maxTokens: 24 };
        const first = await client.chat(question);
        const second = await client.chat(question);
        assert.equal(second.text, first.text, "same seed, same answer");
        const logged = client.logs.all.map((l) => l.message).filter((m) => m.includes("chat sampling: "));
        assert.match(
            logged.at(-1) ?? "",
            /chat sampling: temperature 0\.7, .* from the general default .*, seed 1234$/
        );
        const other = await TestClient.start({
            settings: { modelPath: TEST_MODELS.moe, chat: { seed: 99 } }
        });
        try {
            assert.equal((await other.settled()).state, "ready");
            const third = await other.chat(question);
            assert.notEqual(third.text, first.text, "another seed samples another answer");
        } finally {
            assert.equal(await other.stop(), 0);
        }
    });

    test("a second chat waits behind the first", async () => {
        const events: string[] = [];
        const first = client
            .chat({ ...ask("first"), maxTokens: 60 }, () => {
                if (!events.includes("first chunk")) events.push("first chunk");
            })
            .then((r) => {
                events.push("first done");
                return r;
            });
        const second = client
            .chat({ ...ask("second"), maxTokens: 5 }, () => {
                if (!events.includes("second chunk")) events.push("second chunk");
            })
            .then((r) => {
                events.push("second done");
                return r;
            });
        await Promise.all([first, second]);
        assert.ok(events.indexOf("first done") < events.indexOf("second chunk"), events.join(", "));
    });

    test("an inline completion is served while a long chat streams", async () => {
        await client.open("file:///w/during-chat.ts", "const answer = ");
        const events: string[] = [];
        let firstChunk!: () => void;
        const started = new Promise<void>((r) => {
            firstChunk = r;
        });
        const chat = client
            .chat({ ...ask("long"), maxTokens: 1500 }, () => firstChunk())
            .then((r) => {
                events.push("chat done");
                return r;
            });
        await started;
        const completion = await client.complete("file:///w/during-chat.ts", { line: 0, character: 15 });
        events.push("completion done");
        assert.ok(completion && Array.isArray(completion.items));
        const result = await chat;
        assert.equal(events[0], "completion done", "the chat yielded the cores to the completion");
        assert.equal(result.stopReason, "max-tokens");
    });

    test("context window: old turns are dropped whole and reported", async () => {
        const long = "lorem ipsum dolor sit amet ".repeat(400);
        const messages = [
            { role: "user" as const, content: long },
            { role: "assistant" as const, content: long },
            { role: "user" as const, content: long },
            { role: "assistant" as const, content: long },
            { role: "user" as const, content: "and now?" }
        ];
        const result = await client.chat({ messages, maxTokens: 5 });
        assert.ok(result.trimmed.earlierMessages > 0, JSON.stringify(result.trimmed));
        assert.ok(result.promptTokens < 4096);
    });

    test("context window: a question too long for the model is refused, not cut", async () => {
        await assert.rejects(
            client.chat(ask("word ".repeat(6000))),
            (e: unknown) => e instanceof ResponseError && /too long for the model's context/.test(e.message)
        );
    });

    test("malformed chat requests get clear errors", async () => {
        await assert.rejects(client.chat({ messages: [] }), /at least one message/);
        await assert.rejects(client.chat({ messages: [{ role: "assistant", content: "hi" }] }), /must be the user's/);
        await assert.rejects(client.chat({ ...ask("x"), k: 0 }), /k must be/);
    });
});

describe("end of generation", () => {
    test("`</s>` written as text does not end an answer (Qwen's vocabulary types it as text; llama.cpp takes it for an end)", async () => {
        const client = await TestClient.start({ settings: { modelPath: TEST_MODELS.strike } });
        try {
            assert.equal((await client.settled()).state, "ready");
            const result = await client.chat({ ...ask("Strike it through."), maxTokens: 6 });
            assert.equal(result.text, "<s>old</s>\n<s>old", "the answer goes on past </s>");
            assert.equal(result.stopReason, "max-tokens");
        } finally {
            assert.equal(await client.stop(), 0);
        }
    });
});
