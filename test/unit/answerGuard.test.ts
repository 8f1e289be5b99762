import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { answerCut } from "../../server/chat/answerGuard";

const cut = (text: string, headers = true) => {
    const c = answerCut(text, headers);
    return c && { text: text.slice(0, c.at), reason: c.reason };
};

describe("answer guard", () => {
    test("the demo model's loop: a fence of `# Assistant` lines stops at the first, as a turn header", () => {
        const text = "It returns the total.\n```\n# Assistant\n# Assistant\n# Assistant\n";
        assert.deepEqual(cut(text), { text: "It returns the total.\n```", reason: "turn-header" });
    });

    test("a turn header of its own ends the answer, also inside a fence; a half-written one waits", () => {
        assert.deepEqual(cut("Sure.\n\n### Human\nthanks\n"), { text: "Sure.", reason: "turn-header" });
        assert.equal(cut("Sure.\n\n### Hum"), undefined, "not a whole line yet");
        assert.equal(cut("Use `### Human` as the header.\n"), undefined, "mentioned inside a line");
        assert.equal(cut("```py\n# user input\nx = input()\n"), undefined, "a comment that starts with a role word");
        assert.equal(cut("## System requirements\n- Node 20\n"), undefined, "a heading that starts with one");
        assert.equal(cut("Sure.\n### Human\nhi\n", false), undefined, "a model with a template: its own stop texts");
    });

    test("a line four times in a row stops the answer after its first occurrence", () => {
        const line = "const total = items.length;";
        const text = `Here:\n${line}\n\n${line}\n${line}\n${line}\n`;
        assert.deepEqual(cut(text), { text: `Here:\n${line}`, reason: "repeating" });
        assert.equal(cut(`a\n${line}\n${line}\n${line}\n`), undefined, "three times is allowed");
        assert.equal(cut("}\n}\n}\n}\n}\n"), undefined, "short lines (brackets) are not counted");
        const branches = ["if (a) {", "    return false;", "}", "if (b) {", "    return false;", "}"];
        assert.equal(
            cut([...branches, ...branches, ""].join("\n")),
            undefined,
            "the same line in ordinary code, apart"
        );
    });

    test("a phrase repeated at the end, without newlines, is a loop; one piece of it is kept", () => {
        const text = "The answer is " + "the same thing, ".repeat(6);
        assert.deepEqual(cut(text), { text: "The answer is the same thing,", reason: "repeating" });
        assert.equal(cut("-".repeat(80)), undefined, "a rule is not a loop");
        assert.deepEqual(
            cut("def " + "_is".repeat(20)),
            { text: "def _is", reason: "repeating" },
            "the shortest repeating piece is kept once"
        );
        assert.equal(cut("abab"), undefined, "too short to tell");
    });

    test("ordinary answers pass", () => {
        const answer =
            "`orderTotal` returns the sum of the prices.\n\n```ts\nfunction orderTotal(items) {\n    return items.reduce((s, i) => s + i.price, 0);\n}\n```\n";
        assert.equal(cut(answer), undefined);
    });
});
