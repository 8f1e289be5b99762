import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FILTER_LIMITS, endOfSuggestion, postprocess } from "../../server/completion/filters";

type Shape = Parameters<typeof postprocess>[1];
const shape = (over: Partial<Shape> = {}): Shape => ({
    midLine: false,
    indent: "",
    opensBlock: false,
    linePrefix: "",
    lineSuffix: "",
    nextLines: [],
    ...over
});

describe("where a suggestion ends", () => {
    test("mid-line: one line only", () => {
        const s = shape({ midLine: true, linePrefix: "foo(", lineSuffix: "x)" });
        assert.equal(endOfSuggestion("a, b", s), undefined);
        assert.equal(postprocess("a, b\nmore();", s), "a, b");
    });

    test("a statement being written: the rest of its line only", () => {
        const s = shape({ indent: "  ", linePrefix: "  const total = ", nextLines: ["}"] });
        assert.equal(endOfSuggestion("a + b", s), undefined);
        assert.equal(endOfSuggestion("a + b;\n  return total;", s), "a + b;".length);
        assert.equal(postprocess("a + b;\n  return total;\n}", s), "a + b;");
    });

    test("block body: ends before the first line less indented than the body", () => {
        const s = shape({ indent: "", linePrefix: "function f() {", opensBlock: true, nextLines: ["}"] });
        assert.equal(
            postprocess("\n  const x = 1;\n  return x;\n}\n\nfunction g() {", s),
            "\n  const x = 1;\n  return x;"
        );
    });

    test("a closing bracket line is kept when the code after the cursor does not close the block", () => {
        const s = shape({
            indent: "",
            linePrefix: "function f() {",
            opensBlock: true,
            nextLines: ["export const y = 2;"]
        });
        assert.equal(postprocess("\n  return 1;\n}\nfunction g() {}", s), "\n  return 1;\n}");
    });

    test("on an indented empty line, lines at the cursor's depth continue the block", () => {
        const s = shape({ indent: "    ", linePrefix: "    ", opensBlock: true, nextLines: ["}"] });
        assert.equal(postprocess("a();\n    b();\n}", s), "a();\n    b();");
    });

    test("two blank lines end it", () => {
        assert.equal(postprocess("a();\n\n\nb();", shape()), "a();");
    });

    test("at most maxLines lines", () => {
        const long = Array.from({ length: 40 }, (_, i) => `x${i}();`).join("\n");
        assert.equal(postprocess(long, shape()).split("\n").length, FILTER_LIMITS.maxLines);
    });

    test("streaming: undefined while the last line is still being written", () => {
        const s = shape({ indent: "  ", linePrefix: "  " });
        assert.equal(endOfSuggestion("a();\n  b", s), undefined);
        assert.equal(endOfSuggestion("a();\n}", s), undefined, "an unfinished line is not judged yet");
        assert.equal(endOfSuggestion("a();\n}\n", s), "a();\n}".length, "the closing line is complete now");
    });
});

describe("what repeats the code after the cursor", () => {
    test("the rest of the line is not suggested again", () => {
        const s = shape({ midLine: true, linePrefix: "call(", lineSuffix: ");" });
        assert.equal(postprocess("a, b);", s), "a, b");
        assert.equal(postprocess(");", s), "");
    });

    test("trailing lines equal to the next lines are dropped", () => {
        const s = shape({ indent: "  ", linePrefix: "  ", nextLines: ["  return x;", "}"] });
        assert.equal(postprocess("x += 1;\n  return x;", s), "x += 1;");
        assert.equal(postprocess("return x;", s), "", "a suggestion that is only the next line is dropped");
    });

    test("whitespace-only suggestions are nothing", () => {
        assert.equal(postprocess("   \n  ", shape()), "");
    });
});

describe("loops", () => {
    test("a loop is cut where it began, the repeated piece shown once", () => {
        const s = shape({ linePrefix: "    cart.", indent: "    " });
        assert.equal(
            postprocess("addItem(item, item, item, item, item, item, item, item, item, item, it", s),
            "addItem(item,"
        );
        assert.equal(postprocess("test('0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0", s), "test('0.0");
    });

    test("a line over and over is shown once", () => {
        const s = shape({ linePrefix: "function f() {", opensBlock: true });
        const again = "\n  const total = compute(a);".repeat(5);
        assert.equal(postprocess(again, s), "\n  const total = compute(a);");
    });

    test("repetition that is ordinary code is kept", () => {
        const s = shape({ linePrefix: "function f() {", opensBlock: true });
        for (const code of [
            "\n  // ----------------------------------------------------------------",
            "\n  const zeros = [0, 0, 0, 0];",
            "\n  a.x = 1;\n  b.x = 1;\n  c.x = 1;\n  d.x = 1;"
        ])
            assert.equal(postprocess(code, s), code);
    });
});
