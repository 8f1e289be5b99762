import assert from "node:assert/strict";
import { test } from "node:test";
import { extractCode } from "../../src/edits/extractCode";

test("the first fenced block is the code; without one, the whole answer", () => {
    assert.equal(extractCode("Here:\n```ts\nconst a = 1;\n```\nand more\n```\nx\n```"), "const a = 1;");
    assert.equal(extractCode("  return a + b;  "), "return a + b;");
    assert.equal(
        extractCode("```py\ndef f():\n    pass"),
        "def f():\n    pass",
        "an unterminated block (cut by the token budget) still counts"
    );
});
