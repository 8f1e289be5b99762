import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Token } from "node-llama-cpp";
import {
    allowedToSpell,
    healPrefix,
    spellingStep,
    spellingOf,
    spellingRest,
    withoutHealed
} from "../../server/completion/tokenHealing";

// A toy byte-level vocabulary: indentation merges with a word's leading space, as BPE does.
const vocab = ["", "\n", "\n   ", "\n    ", " const", "const", " ", "x", "\n  ", "<fim_prefix>"];
const t = (text: string) => vocab.indexOf(text) as Token;

describe("token healing", () => {
    test("drops the prompt's last token and returns its text", () => {
        const { prefix, heal } = healPrefix([t("x"), t("\n    ")], (token) => vocab[token]!);
        assert.deepEqual(prefix, [t("x")]);
        assert.equal(heal, "\n    ");
    });

    test("nothing to heal: an empty prefix, an empty or undecodable token", () => {
        assert.deepEqual(
            healPrefix([], (token) => vocab[token]!),
            { prefix: [], heal: "" }
        );
        assert.equal(healPrefix([t("x"), 0 as Token], (token) => vocab[token]!).heal, "");
        assert.equal(healPrefix([t("x")], () => "\uFFFD").heal, "");
    });

    test("while healing, only tokens that spell the dropped text (or go past it) may come", () => {
        const healing = spellingOf("\n    ", [])!;
        const allowed = allowedToSpell(vocab, healing, "")!.map((token) => vocab[token]);
        assert.deepEqual(allowed.sort(), ["\n", "\n   ", "\n    ", "\n  "].sort());
        // After "\n   " is generated, one space remains: " const" and " " may follow, "const" may not.
        assert.deepEqual(
            allowedToSpell(vocab, healing, "\n   ")!
                .map((token) => vocab[token])
                .sort(),
            [" ", " const"].sort()
        );
        assert.equal(allowedToSpell(vocab, healing, "\n    const"), undefined, "spelled: free");
        assert.equal(spellingOf("", []), undefined, "nothing to heal, no members: no constraint");
    });

    test("the vocabulary's look-ups allow exactly the tokens the rule names (property)", () => {
        const word = (c: string) => /[\w$]/.test(c);
        // The rule, token by token: a beginning of what is left of a text, or all of it and more (with
        // `wholeWord`, not going on with the word); once a text is spelled exactly, any token that does not go on with it.
        const rule = (vocabulary: string[], texts: string[], wholeWord: boolean, generated: string) => {
            const exact = wholeWord && texts.includes(generated);
            if (!exact && texts.some((x) => generated.startsWith(x))) return undefined;
            const rests = texts
                .filter((x) => x.startsWith(generated) && x.length > generated.length)
                .map((x) => x.slice(generated.length));
            if (rests.length === 0 && !exact) return undefined;
            return vocabulary.flatMap((text, token) =>
                text !== "" &&
                ((exact && !word(text[0]!)) ||
                    rests.some(
                        (r) => r.startsWith(text) || (text.startsWith(r) && !(wholeWord && word(text.charAt(r.length))))
                    ))
                    ? [token]
                    : []
            );
        };
        const char = fc.constantFrom("a", "b", "A", "_", "$", " ", "\n", "(", ".", "é");
        fc.assert(
            fc.property(
                fc.array(fc.string({ unit: char, maxLength: 4 }), { maxLength: 40 }),
                fc.array(fc.string({ unit: char, minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
                fc.boolean(),
                fc.nat(6),
                (vocabulary, texts, wholeWord, cut) => {
                    const generated = texts[0]!.slice(0, cut);
                    assert.deepEqual(
                        allowedToSpell(vocabulary, { texts, wholeWord }, generated),
                        rule(vocabulary, texts, wholeWord, generated)
                    );
                }
            ),
            { numRuns: 2000 }
        );
    });

    test("as a token bias: the allowed tokens raised; after a whole name the word's going on forbidden; nothing fits: all forbidden", () => {
        const words = ["", ".", "add", "Line", "Item", "Items", "(", "x", "ñ"];
        const spelling = spellingOf(".", ["addLineItem", "ñame"])!;
        const raised = spellingStep(words, spelling, ".add");
        assert.deepEqual(raised, { raise: [words.indexOf("Line")] }, "end-of-generation cannot win mid-name");
        const ended = spellingStep(words, spelling, ".addLineItem");
        assert.ok(ended && "forbid" in ended);
        assert.deepEqual(
            ended.forbid.map((t) => words[t]),
            ["", "add", "Line", "Item", "Items", "x"],
            "the suggestion may end after the name (not `Items`)"
        );
        assert.deepEqual(
            spellingStep(words, spelling, ".ñ"),
            { forbid: words.map((_, t) => t) },
            "no token spells `ame`: everything forbidden, so it ends and the name is finished"
        );
        assert.equal(spellingStep(words, spelling, ".addLineItem("), undefined);
    });

    test("after `object.`, the first tokens spell a whole member name (healed text first)", () => {
        const words = ["", ".", "add", "compute", "Grand", "Total", "Totals", "Total(", "get", "(", "x"];
        const spelling = spellingOf(".", ["addLineItem", "computeGrandTotal"])!;
        const next = (generated: string) =>
            allowedToSpell(words, spelling, generated)
                ?.map((token) => words[token])
                .sort();
        assert.deepEqual(next(""), ["."]);
        assert.deepEqual(next("."), ["add", "compute"], "no invented member: get, x");
        assert.deepEqual(next(".computeGrand"), ["Total", "Total("], "the word may not go on: Totals");
        assert.deepEqual(next(".computeGrandTotal"), ["(", "."], "spelled exactly: not the same word going on");
        assert.equal(next(".computeGrandTotal("), undefined, "a member spelled and ended: free");
        assert.equal(spellingRest(spelling, ".addLi", "."), "neItem", "what an early end leaves to spell");
        assert.equal(spellingRest(spelling, ".", "."), "", "nothing begun: nothing invented");
        assert.equal(spellingRest(spelling, ".addLineItem(x", "."), "");
        assert.equal(
            spellingRest(spellingOf("", ["getA", "getB"])!, "get", ""),
            "",
            "several fit: not settled by list order"
        );
    });

    test("the respelled text is cut from the suggestion", () => {
        assert.equal(withoutHealed("\n    const a = 1;", "\n    "), "const a = 1;");
        assert.equal(withoutHealed("\n  ", "\n    "), "", "still respelling: nothing to show yet");
        assert.equal(withoutHealed("abc", ""), "abc", "not healing: unchanged");
    });
});
