import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { allowedWhileHealing, healPrefix, withoutHealed } from "../../server/completion/tokenHealing";

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
        const allowed = allowedWhileHealing(vocab, "\n    ").map((token) => vocab[token]);
        assert.deepEqual(allowed.sort(), ["\n", "\n   ", "\n    ", "\n  "].sort());
        // After "\n   " is generated, one space remains: " const" and " " may follow, "const" may not.
        assert.deepEqual(
            allowedWhileHealing(vocab, " ")
                .map((token) => vocab[token])
                .sort(),
            [" ", " const"].sort()
        );
    });

    test("the respelled text is cut from the suggestion", () => {
        assert.equal(withoutHealed("\n    const a = 1;", "\n    "), "const a = 1;");
        assert.equal(withoutHealed("\n  ", "\n    "), "", "still respelling: nothing to show yet");
        assert.equal(withoutHealed("abc", ""), "abc", "not healing: unchanged");
    });
});
