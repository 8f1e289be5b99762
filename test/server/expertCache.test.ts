/**
 * The expert cache through the real server, on the embedded model (7 MB) with a memory budget
 * smaller than it (5 MiB): the server turns the cache on, pins and prefetches (each layer's
 * choice, and the next layer's predicted one) as completions and chats run, reports it in moePilot/routing/stats — and writes exactly what it writes without the
 * cache (greedy decoding: the cache decides where weights are, never which ones a token uses).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type RoutingStatsResult, RoutingStatsRequest } from "../../server/protocol";
import { TestClient } from "./lspClient";
import { withoutNativeBuild } from "../nativeBuild";

const DOC = "file:///w/stats.py";
const TEXT = "def mean(values):\n    total = 0\n    for value in values:\n        total += value\n    return ";
const AT = { line: 4, character: 11 };

async function run(
    budget: "auto" | number
): Promise<{ completion: string; chat: string; stats: RoutingStatsResult; logs: string[] }> {
    // Next-layer prediction on too (off by default): it must not change results either.
    const client = await TestClient.start({
        settings: { completion: { debounceMs: 0 }, memory: { budget, prefetchNextLayer: true } }
    });
    try {
        const s = await client.settled();
        assert.equal(s.state, "ready", s.message);
        await client.open(DOC, TEXT, "python");
        const completion = ((await client.complete(DOC, AT))?.items[0]?.insertText as string) ?? "";
        const chat = (
            await client.chat({
                messages: [{ role: "user", content: "Explain this code." }],
                attachments: [{ kind: "selection", label: "stats.py", text: TEXT }],
                k: "auto",
                maxTokens: 32
            })
        ).text;
        return {
            completion,
            chat,
            stats: await client.connection.sendRequest(RoutingStatsRequest.type),
            logs: client.logs.all.map((l) => l.message)
        };
    } finally {
        await client.stop();
    }
}

describe("expert cache", { skip: withoutNativeBuild }, () => {
    let withCache: Awaited<ReturnType<typeof run>>, without: Awaited<ReturnType<typeof run>>;

    test("a budget smaller than the model turns it on; it pins, prefetches and counts", async () => {
        withCache = await run(5);
        const c = withCache.stats.cache;
        assert.ok(c, "the routing statistics carry the cache's state");
        assert.equal(c.state, "on", c.reason);
        assert.equal(c.budgetBytes, 5 * 2 ** 20);
        assert.ok(c.modelBytes > c.budgetBytes);
        assert.ok((c.quotaPerLayer ?? 0) >= 1, `quota ${c.quotaPerLayer}`);
        assert.ok((c.tokens ?? 0) > 20, `tokens seen: ${c.tokens}`);
        assert.ok(c.hitRate !== undefined && c.hitRate > 0 && c.hitRate <= 1, `hit rate ${c.hitRate}`);
        // the page cache holds more than the kept quota: what was found in memory is at least as much
        assert.ok(
            c.inMemoryShare !== undefined && c.inMemoryShare > 0 && c.inMemoryShare <= 1,
            `found in memory: ${c.inMemoryShare}`
        );
        assert.ok((c.pinnedBytes ?? 0) > 0);
        // Next-layer prediction: each layer's input through the next layer's router, prefetched a layer early.
        assert.ok(
            c.predictedShare !== undefined && c.predictedShare > 0 && c.predictedShare <= 1,
            `predicted a layer ahead: ${c.predictedShare}`
        );
        assert.ok(
            withCache.logs.some((l) => /expert cache on: .* of 8 experts kept per layer/.test(l)),
            "the log says so"
        );
        assert.ok(!withCache.logs.some((l) => /expert prefetch:/.test(l)), "prefetch attached to every context");
    });

    test("a budget the model fits in leaves it off, and says why", async () => {
        without = await run("auto");
        assert.equal(without.stats.cache?.state, "off");
        assert.match(without.stats.cache?.reason ?? "", /fits in the memory budget/);
    });

    test("same completion and chat answer with and without it", () => {
        assert.ok(withCache.completion.length > 0 && withCache.chat.length > 0);
        assert.equal(withCache.completion, without.completion);
        assert.equal(withCache.chat, without.chat);
    });
});
