/**
 * The chat's guards over LSP, on models built to misbehave (pipeline/makeTestModel.ts): one that
 * repeats a line forever, one that writes a code fence and then a turn header of its own, as the
 * demo model did. Both have no chat template, so the general format and its role headers apply.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TEST_MODELS, TestClient } from "./lspClient";

const ask = (content: string) => ({ messages: [{ role: "user" as const, content }], maxTokens: 400 });

function lineCounts(text: string): number {
    const counts = new Map<string, number>();
    for (const line of text.split("\n").map((l) => l.trim()))
        if (line.length >= 8) counts.set(line, (counts.get(line) ?? 0) + 1);
    return Math.max(0, ...counts.values());
}

for (const [name, model] of [
    ["a looping model", TEST_MODELS.loop],
    ["a model that writes turn headers", TEST_MODELS.turns]
] as const)
    describe(`chat guards: ${name}`, () => {
        let client: TestClient;
        before(async () => {
            client = await TestClient.start({ settings: { modelPath: model } });
            assert.equal((await client.settled()).state, "ready");
        });
        after(async () => {
            if (client) assert.equal(await client.stop(), 0);
        });

        if (model === TEST_MODELS.loop)
            test("the answer is stopped as repeating, the line shown once", async () => {
                const shown: string[] = [];
                const result = await client.chat(ask("Tell me a story."), (c) => shown.push(c.text));
                assert.equal(result.stopReason, "repeating", JSON.stringify(result.text));
                assert.ok(result.generatedTokens < 60, `stopped early: ${result.generatedTokens} tokens`);
                assert.equal(result.text.split("It goes around and round.").length - 1, 1, JSON.stringify(result.text));
                assert.ok(lineCounts(shown.join("")) < 4 + 1, "the stream stopped within a line of the limit");
            });
        else
            test("the answer ends at the turn header, also inside a code fence", async () => {
                const result = await client.chat(ask("Show me x."));
                assert.equal(result.stopReason, "end-of-turn", JSON.stringify(result.text));
                assert.ok(!result.text.includes("Assistant"), JSON.stringify(result.text));
                assert.match(result.text, /^```ts\n {4}const x = y;$/, "the code before the header is kept");
                assert.ok(result.generatedTokens < 30, `${result.generatedTokens} tokens`);
            });
    });
