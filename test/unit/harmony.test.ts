import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { harmonyAnswer, harmonyTokens } from "../../server/chat/harmony";

// A vocabulary of words and harmony's control tokens, each word or marker one token.
const words = ["<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|return|>", "<|call|>", "<|constrain|>"];
const id = (w: string) => {
    if (!words.includes(w)) words.push(w);
    return words.indexOf(w) as Token;
};
const ids = harmonyTokens((text) => (words.includes(text) ? id(text) : undefined))!;
const tokens = (text: string) => text.split(" ").filter(Boolean).map(id);
const decode = (t: Token[]) => t.map((i) => (words[i]!.startsWith("<|") ? "" : words[i]!)).join(" ");
const answer = (text: string) => decode(harmonyAnswer(tokens(text), ids, decode));

describe("harmony answers", () => {
    test("the final channel is the answer; analysis and commentary are not", () => {
        assert.equal(
            answer(
                "<|channel|> analysis <|message|> let me think <|end|> <|start|> assistant <|channel|> final <|message|> it returns a sum <|return|>"
            ),
            "it returns a sum"
        );
        assert.equal(
            answer("<|channel|> commentary to=functions.read <|constrain|> json <|message|> {} <|call|>"),
            "",
            "a tool call is not an answer"
        );
    });

    test("streaming: what the answer shows only grows", () => {
        const all = tokens(
            "<|channel|> analysis <|message|> hmm <|end|> <|start|> assistant <|channel|> final <|message|> a b c <|return|>"
        );
        let before = "";
        for (let n = 1; n <= all.length; n++) {
            const now = decode(harmonyAnswer(all.slice(0, n), ids, decode));
            assert.ok(now.startsWith(before), `${JSON.stringify(now)} extends ${JSON.stringify(before)}`);
            before = now;
        }
        assert.equal(before, "a b c");
    });

    test("a message without a channel is the answer; a turn without harmony is shown as written", () => {
        assert.equal(answer("<|message|> plain answer <|return|>"), "plain answer");
        assert.equal(answer("just text"), "just text");
    });

    test("a vocabulary without harmony's tokens has no harmony", () => {
        assert.equal(
            harmonyTokens(() => undefined),
            undefined
        );
    });
});
