import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatTooLongError, type ChatTurn, fitConversation } from "../../server/chat/fitConversation";

/** One token per character of text, plus 4 per turn for the template's markers. */
const count = (turns: ChatTurn[]) => turns.reduce((n, t) => n + t.text.length + 4, 0);
const user = (content: string) => ({ role: "user" as const, content });
const assistant = (content: string) => ({ role: "assistant" as const, content });

describe("chat context window policy", () => {
    test("everything fits: system, history, attachments, question", () => {
        const f = fitConversation(
            "sys",
            [user("a"), assistant("b"), user("why?")],
            [{ kind: "selection", label: "x.ts:1-2", text: "code" }],
            1000,
            count
        );
        assert.deepEqual(
            f.turns.map((t) => t.role),
            ["system", "user", "assistant", "user"]
        );
        assert.match(f.turns.at(-1)!.text, /Selected code from x\.ts:1-2:\n```\ncode\n```\n\nwhy\?$/);
        assert.deepEqual(f.trimmed, { attachments: [], earlierMessages: 0 });
    });

    test("the oldest whole turns go first, and the count is reported", () => {
        const messages = [
            user("first question ".repeat(5)),
            assistant("first answer ".repeat(5)),
            user("second"),
            assistant("answer two"),
            user("third?")
        ];
        const f = fitConversation("sys", messages, [], 50, count);
        assert.deepEqual(
            f.turns.map((t) => t.text),
            ["sys", "second", "answer two", "third?"]
        );
        assert.equal(f.trimmed.earlierMessages, 2);
        assert.ok(count(f.turns) <= 50);
    });

    test("an attachment that does not fit is left out whole and named", () => {
        const f = fitConversation(
            "sys",
            [user("explain")],
            [
                { kind: "file", label: "big.ts", text: "x".repeat(500) },
                { kind: "diagnostics", label: "a.ts", text: "error TS1005" }
            ],
            100,
            count
        );
        assert.deepEqual(f.trimmed.attachments, ["big.ts"]);
        assert.match(f.turns.at(-1)!.text, /Problems in a\.ts/);
        assert.doesNotMatch(f.turns.at(-1)!.text, /xxxx/);
    });

    test("a question that cannot fit is refused, never cut", () => {
        assert.throws(
            () => fitConversation("sys", [user("q".repeat(200))], [], 100, count),
            (e: unknown) => e instanceof ChatTooLongError && /needs 211 tokens and 100 are available/.test(e.message)
        );
    });

    test("the last message must be the user's", () => {
        assert.throws(() => fitConversation("sys", [user("a"), assistant("b")], [], 100, count), /must be the user's/);
    });
});
