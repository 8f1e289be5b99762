import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { harmonyTokens, harmonyTurn } from "../../server/chat/harmony";

// A vocabulary of words and harmony's control tokens, each word or marker one token.
const words = ["<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|return|>", "<|call|>", "<|constrain|>"];
const id = (w: string) => {
    if (!words.includes(w)) words.push(w);
    return words.indexOf(w) as Token;
};
const ids = harmonyTokens((text) => (words.includes(text) ? id(text) : undefined))!;
const tokens = (text: string) => text.split(" ").filter(Boolean).map(id);
const decode = (t: Token[]) => t.map((i) => (words[i]!.startsWith("<|") ? "" : words[i]!)).join(" ");
const read = (text: string) => {
    const turn = harmonyTurn(tokens(text), ids, decode);
    return { answer: decode(turn.answer), hidden: turn.hidden, ended: turn.ended };
};

describe("harmony turns", () => {
    test("the final channel is the answer; analysis and tool calls are not", () => {
        assert.deepEqual(
            read(
                "<|channel|> analysis <|message|> let me think <|end|> <|start|> assistant <|channel|> final <|message|> it returns a sum <|return|>"
            ),
            { answer: "it returns a sum", hidden: 3, ended: false }
        );
        assert.deepEqual(
            read(
                "<|channel|> analysis <|message|> look <|end|> <|start|> assistant to=functions.read <|channel|> commentary <|constrain|> json <|message|> {} <|call|>"
            ),
            { answer: "", hidden: 2, ended: false },
            "a tool call (its recipient in the role) is not an answer, nor the end of the turn"
        );
    });

    test("a message for another role ends the assistant's turn", () => {
        assert.deepEqual(read("<|channel|> final <|message|> done <|end|> <|start|> user <|message|> and now"), {
            answer: "done",
            hidden: 0,
            ended: true
        });
    });

    test("streaming: the answer only grows, token by token", () => {
        for (const text of [
            "<|channel|> analysis <|message|> hmm <|end|> <|start|> assistant <|channel|> final <|message|> a b c <|return|>",
            "plain words then <|channel|> final <|message|> more"
        ]) {
            const all = tokens(text);
            let before = "";
            for (let n = 1; n <= all.length; n++) {
                const now = decode(harmonyTurn(all.slice(0, n), ids, decode).answer);
                assert.ok(now.startsWith(before), `${JSON.stringify(now)} extends ${JSON.stringify(before)}`);
                before = now;
            }
        }
    });

    test("a message without a channel is the answer; a turn that does not begin in harmony is shown as written", () => {
        assert.equal(read("<|message|> plain answer <|return|>").answer, "plain answer");
        assert.equal(read("just text").answer, "just text");
    });

    test("a vocabulary without harmony's tokens has no harmony", () => {
        assert.equal(
            harmonyTokens(() => undefined),
            undefined
        );
    });
});
