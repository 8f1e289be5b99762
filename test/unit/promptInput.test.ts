import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TextDocument } from "vscode-languageserver-textdocument";
import { PROMPT_WINDOW, buildPromptInput } from "../../server/completion/promptInput";
import { DEFAULT_SETTINGS } from "../../server/settings/settings";

const doc = (text: string, uri = "file:///w/a.ts", languageId = "typescript") =>
    TextDocument.create(uri, languageId, 1, text);
const settings = DEFAULT_SETTINGS.completion;

describe("completion context", () => {
    test("prefix and suffix around the cursor", () => {
        const c = buildPromptInput(doc("function f() {\n  return 1;\n}\n"), { line: 1, character: 9 }, settings);
        assert.equal(c.prefix, "function f() {\n  return ");
        assert.equal(c.suffix, "1;\n}\n");
        assert.equal(c.linePrefix, "  return ");
        assert.equal(c.lineSuffix, "1;");
        assert.equal(c.midLine, true);
        assert.equal(c.indent, "  ");
        assert.deepEqual(c.nextLines, ["}"]);
    });

    test("only closing brackets after the cursor still allows several lines", () => {
        const c = buildPromptInput(doc("call(\n"), { line: 0, character: 5 }, settings);
        assert.equal(c.midLine, false);
        assert.equal(buildPromptInput(doc("foo(x)"), { line: 0, character: 4 }, settings).midLine, true);
        assert.equal(buildPromptInput(doc("foo()"), { line: 0, character: 4 }, settings).midLine, false);
    });

    test("a line that opens a block, or the line above it, is seen", () => {
        assert.equal(buildPromptInput(doc("if (x) {"), { line: 0, character: 8 }, settings).opensBlock, true);
        assert.equal(buildPromptInput(doc("def f():\n    \n"), { line: 1, character: 4 }, settings).opensBlock, true);
        assert.equal(buildPromptInput(doc("x = 1\n"), { line: 1, character: 0 }, settings).opensBlock, false);
    });

    test("the prefix window starts on an anchor line, so moving down a line keeps the prompt's start", () => {
        const text = Array.from({ length: 200 }, (_, i) => `line${i}`).join("\n");
        const a = buildPromptInput(doc(text), { line: 100, character: 0 }, { ...settings, prefixLines: 64 });
        const b = buildPromptInput(doc(text), { line: 101, character: 0 }, { ...settings, prefixLines: 64 });
        assert.ok(a.prefix.startsWith("line32\n"), a.prefix.slice(0, 20));
        assert.ok(b.prefix.startsWith(a.prefix.slice(0, -1)), "b extends a");
        assert.equal(100 - 64 - ((100 - 64) % PROMPT_WINDOW.prefixAnchorLines), 32);
    });

    test("CRLF files give the same text as LF files", () => {
        const c = buildPromptInput(doc("a\r\nb\r\nc"), { line: 1, character: 1 }, settings);
        assert.equal(c.prefix, "a\nb");
        assert.equal(c.suffix, "\nc");
    });

    test("a huge single-line file is capped", () => {
        const c = buildPromptInput(doc("x".repeat(5_000_000)), { line: 0, character: 2_500_000 }, settings);
        assert.equal(c.prefix.length, PROMPT_WINDOW.maxPrefixChars);
        assert.equal(c.suffix.length, PROMPT_WINDOW.maxSuffixChars);
    });

    test("positions past the end are clamped", () => {
        const c = buildPromptInput(doc("ab"), { line: 9, character: 99 }, settings);
        assert.equal(c.prefix, "ab");
        assert.equal(c.suffix, "");
    });

    test("extra context: heads of other open files of the same language, most recent first", () => {
        const others = [
            doc("export const b = 1;\n", "file:///w/b.ts"),
            doc("print(1)\n", "file:///w/c.py", "python"),
            doc("export const d = 2;\n", "file:///w/d.ts")
        ];
        const c = buildPromptInput(doc("x"), { line: 0, character: 1 }, settings, others);
        assert.deepEqual(
            c.extra.map((e) => e.path),
            ["/w/b.ts", "/w/d.ts"]
        );
        assert.deepEqual(
            buildPromptInput(doc("x"), { line: 0, character: 1 }, { ...settings, extraContext: false }, others).extra,
            []
        );
    });
});
