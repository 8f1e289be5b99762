import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { RepetitionPrior, repetitionPriorChoice } from "../../server/completion/repetitionPrior";
import type { Token } from "../../server/completion/fimFormats";

const t = (...ids: number[]) => ids as Token[];
const text = () => true;

describe("the repetition prior", () => {
    test("what followed the last four tokens before gets a bonus", () => {
        // 1 2 3 4 5 … then the prefix ends in 1 2 3 4: 5 is likelier.
        const prompt = t(9, 1, 2, 3, 4, 5, 8, 7, 1, 2, 3, 4);
        const prior = new RepetitionPrior(prompt, t(7, 1, 2, 3, 4), text);
        assert.deepEqual([...prior.bonuses()], [[5, 3]]);
    });

    test("three tokens of match are not enough", () => {
        const prompt = t(9, 2, 3, 4, 5, 8, 7, 1, 2, 3, 4);
        assert.equal(new RepetitionPrior(prompt, t(1, 2, 3, 4), text).bonuses().size, 0);
    });

    test("a longer match counts more, and followers share by their matches", () => {
        // After …1 2 3 4: 5 once (a match of 6 tokens), 6 once (4 tokens).
        const prompt = t(0, 0, 1, 2, 3, 4, 5, 9, 1, 2, 3, 4, 6, 9, 0, 0, 1, 2, 3, 4);
        const b = new RepetitionPrior(prompt, t(0, 0, 1, 2, 3, 4), text).bonuses();
        assert.ok(b.get(5 as Token)! > b.get(6 as Token)!);
        // The longest match (6 tokens, the two leading zeros) sets the strength, 3 x 3; 5 has 6 of the 10 tokens matched.
        assert.equal(b.get(5 as Token), (9 * 6) / 10);
    });

    test("generated tokens are written and can be copied", () => {
        const prior = new RepetitionPrior(t(1, 2, 3, 4, 5, 6), t(1, 2, 3, 4, 5, 6), text);
        assert.equal(prior.bonuses().size, 0);
        for (const x of t(9, 1, 2, 3, 4)) prior.add(x);
        assert.deepEqual([...prior.bonuses().keys()], [5]);
        // The suggestion wrote 9 1 2 3 4 8; written again, 8 (which only the suggestion has) comes first.
        for (const x of t(8, 0, 9, 1, 2, 3, 4)) prior.add(x);
        const b = prior.bonuses();
        assert.ok(b.get(8 as Token)! > b.get(5 as Token)!, JSON.stringify([...b]));
    });

    test("control tokens are never proposed", () => {
        const prompt = t(1, 2, 3, 4, 100, 1, 2, 3, 4);
        const prior = new RepetitionPrior(prompt, t(1, 2, 3, 4), (x) => x < 100);
        assert.equal(prior.bonuses().size, 0);
    });

    test("the same bonuses as a search of every earlier place (PSM prompts, markers never proposed)", () => {
        const P = 100 as Token,
            S = 101 as Token,
            M = 102 as Token;
        const notMarker = (x: Token) => x < 100;
        const small = fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 40 });
        fc.assert(
            fc.property(small, small, small, (prefix, suffix, generated) => {
                const source = [P, ...prefix, S, ...suffix, M] as Token[];
                const prior = new RepetitionPrior(source, prefix as Token[], notMarker);
                for (const g of generated) prior.add(g as Token);
                // Brute force: every place in the prompt and the suggestion, its match with what is written.
                const s = [...source, ...generated],
                    w = [...prefix, ...generated];
                const weight = new Map<number, number>();
                let total = 0,
                    longest = 0;
                for (let i = 0; i + 1 < s.length; i++) {
                    let m = 0;
                    while (m < 8 && i - m >= 0 && m < w.length && s[i - m] === w[w.length - 1 - m]) m++;
                    if (m < 4 || !notMarker(s[i + 1] as Token)) continue;
                    weight.set(s[i + 1]!, (weight.get(s[i + 1]!) ?? 0) + m);
                    total += m;
                    longest = Math.max(longest, m);
                }
                const got = prior.bonuses();
                assert.deepEqual([...got.keys()].sort(), [...weight.keys()].sort());
                for (const [x, v] of weight)
                    assert.ok(Math.abs(got.get(x as Token)! - (3 * (longest - 3) * v) / total) < 1e-9);
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
