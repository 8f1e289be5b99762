/**
 * Settings as an editor sends them: a value out of range over `workspace/configuration` is
 * replaced by its default and the user told, by the setting's full key.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TEST_MODELS, TestClient } from "./lspClient";

test("an out-of-range moePilot.completion.maxTokens over workspace/configuration is named by its full key", async () => {
    const client = await TestClient.start({}, { modelPath: TEST_MODELS.moe, completion: { maxTokens: 5000 } });
    try {
        const message = await client.messages.find((m) => /maxTokens/.test(m.message), "a message about maxTokens");
        assert.equal(
            message.message,
            "MoE Pilot setting moePilot.completion.maxTokens (workspace/configuration) must be a whole number from 1 to 1024; using 64"
        );
        assert.equal((await client.settled()).state, "ready", "the rest of the settings still load the model");
    } finally {
        assert.equal(await client.stop(), 0);
    }
});
