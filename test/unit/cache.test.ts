import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CACHE_LIMITS, CompletionCache } from "../../server/completion/cache";

describe("completion cache", () => {
    test("exact hit, and a miss for another suffix", () => {
        const c = new CompletionCache();
        c.set("let a = ", ";", "42");
        assert.equal(c.get("let a = ", ";"), "42");
        assert.equal(c.get("let a = ", ""), undefined);
    });

    test("type-through: typing the start of a suggestion serves the rest", () => {
        const c = new CompletionCache();
        c.set("const x = ", "", "compute(1, 2);");
        assert.equal(c.get("const x = comp", ""), "ute(1, 2);");
        assert.equal(c.get("const x = compute(1, 2);", ""), undefined, "nothing left to suggest is a miss");
        assert.equal(c.get("const x = other", ""), undefined, "typing something else is a miss");
    });

    test("an empty answer is cached as an answer", () => {
        const c = new CompletionCache();
        c.set("p", "s", "");
        assert.equal(c.get("p", "s"), "");
    });

    test("least recently used entries go first", () => {
        const c = new CompletionCache();
        for (let i = 0; i <= CACHE_LIMITS.entries; i++) c.set(`p${i}`, "", `v${i}`);
        assert.equal(c.get("p0", ""), undefined);
        assert.equal(c.get(`p${CACHE_LIMITS.entries}`, ""), `v${CACHE_LIMITS.entries}`);
    });
});
