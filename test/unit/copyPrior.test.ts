import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CopyPrior, repetitionPriorChoice } from "../../server/completion/copyPrior";
import type { Token } from "../../server/completion/fimFormats";

const t = (...ids: number[]) => ids as Token[];
const text = () => true;

describe("the repetition prior", () => {
    test("what followed the last four tokens before gets a bonus", () => {
        // 1 2 3 4 5 … then the prefix ends in 1 2 3 4: 5 is likelier.
        const prompt = t(9, 1, 2, 3, 4, 5, 8, 7, 1, 2, 3, 4);
        const prior = new CopyPrior(prompt, t(7, 1, 2, 3, 4), text);
        assert.deepEqual([...prior.bonuses()], [[5, 3]]);
    });

    test("three tokens of match are not enough", () => {
        const prompt = t(9, 2, 3, 4, 5, 8, 7, 1, 2, 3, 4);
        assert.equal(new CopyPrior(prompt, t(1, 2, 3, 4), text).bonuses().size, 0);
    });

    test("a longer match counts more, and followers share by their matches", () => {
        // After …1 2 3 4: 5 once (a match of 6 tokens), 6 once (4 tokens).
        const prompt = t(0, 0, 1, 2, 3, 4, 5, 9, 1, 2, 3, 4, 6, 9, 0, 0, 1, 2, 3, 4);
        const b = new CopyPrior(prompt, t(0, 0, 1, 2, 3, 4), text).bonuses();
        assert.ok(b.get(5 as Token)! > b.get(6 as Token)!);
        // The longest match (6 tokens, the two leading zeros) sets the strength, 3 x 3; 5 has 6 of the 10 tokens matched.
        assert.equal(b.get(5 as Token), (9 * 6) / 10);
    });

    test("generated tokens are written and can be copied", () => {
        const prior = new CopyPrior(t(1, 2, 3, 4, 5, 6), t(1, 2, 3, 4, 5, 6), text);
        assert.equal(prior.bonuses().size, 0);
        for (const x of t(9, 1, 2, 3, 4)) prior.add(x);
        assert.deepEqual([...prior.bonuses().keys()], [5]);
    });

    test("control tokens are never proposed", () => {
        const prompt = t(1, 2, 3, 4, 100, 1, 2, 3, 4);
        const prior = new CopyPrior(prompt, t(1, 2, 3, 4), (x) => x < 100);
        assert.equal(prior.bonuses().size, 0);
    });

    test("the bonus stays within its bounds, and the text's own end is not a match", () => {
        fc.assert(
            fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }), (ids) => {
                const tokens = ids as Token[];
                const b = new CopyPrior(tokens, tokens, text).bonuses();
                const total = [...b.values()].reduce((a, x) => a + x, 0);
                assert.ok(total <= 15 + 1e-9);
                for (const x of b.values()) assert.ok(x > 0);
                // Every follower it proposes did follow the text's last four tokens somewhere.
                const tail = tokens.slice(-4).join(",");
                for (const f of b.keys())
                    assert.ok(
                        tokens.some((_, i) => i >= 4 && tokens[i] === f && tokens.slice(i - 4, i).join(",") === tail)
                    );
            })
        );
    });
});

describe("when the repetition prior is on", () => {
    test("auto: the embedded model only; on and off as set", () => {
        assert.equal(repetitionPriorChoice("auto", true).on, true);
        assert.equal(repetitionPriorChoice("auto", false).on, false);
        assert.equal(repetitionPriorChoice("on", false).on, true);
        assert.equal(repetitionPriorChoice("off", true).on, false);
    });
});
