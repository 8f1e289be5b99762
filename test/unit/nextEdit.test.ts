import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { TextDocument } from "vscode-languageserver-textdocument";
import { safeTextDocument } from "../../server/documents/safeDocuments";
import { anchors, applyEdit, candidateLines, regionEdit } from "../../server/nextEdit/candidates";
import { COALESCE_MS, EditHistory, type Hunk, MAX_HUNK_LINES } from "../../server/nextEdit/editHistory";
import { nextEditFormat, type NextEditInput, unifiedDiff } from "../../server/nextEdit/nextEditFormats";
import { proposeNextEdit } from "../../server/nextEdit/proposeNextEdit";
import { applyChange, tokenChange } from "../../server/nextEdit/tokenChange";

const FILE = "file:///w/cart.ts";
const CODE = [
    "function total(items) {",
    "    let count = 0;",
    "    for (const i of items) count += i;",
    "    return count;",
    "}"
];

/** A document the way the server holds it, with `history` recording each change as the server does. */
function editor(history: EditHistory, lines = CODE) {
    const docs = safeTextDocument((before, change) => history.record(before, change));
    let doc = docs.create(FILE, "typescript", 1, lines.join("\n"));
    return {
        type(line: number, from: number, to: number, text: string) {
            doc = docs.update(
                doc,
                [{ range: { start: { line, character: from }, end: { line, character: to } }, text }],
                doc.version + 1
            );
        },
        replaceAll(text: string) {
            doc = docs.update(doc, [{ text }], doc.version + 1);
        },
        get lines() {
            return doc.getText().split("\n");
        }
    };
}

describe("edit history", () => {
    test("typing a new name a character at a time is one edit, old lines and new", () => {
        let now = 1000;
        const history = new EditHistory(() => now);
        const ed = editor(history);
        // `count` → `total`, as a user types it: delete the word, then five characters.
        ed.type(1, 8, 13, "");
        for (const [i, ch] of [..."total"].entries()) {
            now += 100;
            ed.type(1, 8 + i, 8 + i, ch);
        }
        const [hunk, ...rest] = history.recent(FILE);
        assert.equal(rest.length, 0);
        assert.deepEqual(
            { line: hunk!.line, before: hunk!.before, after: hunk!.after },
            {
                line: 1,
                before: ["    let count = 0;"],
                after: ["    let total = 0;"]
            }
        );
    });

    test("an edit elsewhere, or after a pause, is another hunk; hunks below move with the lines", () => {
        let now = 0;
        const history = new EditHistory(() => now);
        const ed = editor(history);
        ed.type(3, 11, 16, "sum");
        now += COALESCE_MS + 1;
        ed.type(0, 0, 0, "// totals\n");
        const hunks = history.recent(FILE);
        assert.equal(hunks.length, 2);
        assert.deepEqual(hunks[0]!.after, ["// totals", "function total(items) {"]);
        assert.equal(hunks[1]!.line, 4, "the older hunk moved down a line");
        assert.deepEqual(hunks[1]!.after, ["    return sum;"]);
    });

    test("a change undone leaves no hunk; a paste of many lines is not recorded", () => {
        const history = new EditHistory(() => 0);
        const ed = editor(history);
        ed.type(1, 8, 13, "x");
        ed.type(1, 8, 9, "count");
        assert.equal(history.recent(FILE).length, 0);
        ed.type(4, 1, 1, "\n" + Array.from({ length: MAX_HUNK_LINES + 5 }, (_, i) => `// ${i}`).join("\n"));
        assert.equal(history.recent(FILE).length, 0);
        const minified = editor(history, ["x".repeat(100_000)]);
        minified.type(0, 50_000, 50_000, "y");
        assert.equal(history.recent(FILE).length, 0, "a keystroke in a minified line is not kept");
    });

    test("a whole-text change is narrowed to the lines that differ", () => {
        const history = new EditHistory(() => 0);
        const ed = editor(history);
        const next = [...CODE];
        next[3] = "    return count * 2;";
        ed.replaceAll(next.join("\n"));
        const [hunk] = history.recent(FILE);
        assert.deepEqual(
            { line: hunk!.line, before: hunk!.before, after: hunk!.after },
            {
                line: 3,
                before: ["    return count;"],
                after: ["    return count * 2;"]
            }
        );
        assert.deepEqual(ed.lines, next);
    });

    test("other files' newest edits come after the document's own", () => {
        const history = new EditHistory(() => 0);
        const other = TextDocument.create("file:///w/other.ts", "typescript", 1, "a\nb\n");
        history.record(other, {
            range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
            text: "z"
        });
        const ed = editor(history);
        ed.type(0, 9, 14, "sum");
        assert.deepEqual(
            history.recent(FILE).map((h) => h.uri),
            [FILE, "file:///w/other.ts"]
        );
    });
});

const hunk = (line: number, before: string[], after: string[]): Hunk => ({ uri: FILE, line, before, after, at: 0 });

describe("next-edit candidates", () => {
    test("a rename's anchor is the old name; the uses below come first", () => {
        const lines = ["const a = count;", "let total = 0;", "x", "y", "z", "use(count);", "w", "v", "u", "count++;"];
        const h = hunk(1, ["let count = 0;"], ["let total = 0;"]);
        assert.equal(anchors(h.before, h.after)[0]!.test("count"), true);
        assert.deepEqual(candidateLines(lines, h), [5, 9, 0]);
    });

    test("a parameter added: the calls; a fix: the same token; a key added: literals with that key", () => {
        const param = anchors(["function area(w) {"], ["function area(w, h) {"]);
        assert.ok(param.some((p) => p.test("    return area(3);")));
        const fix = anchors(["if (a == b) {"], ["if (a === b) {"]);
        assert.ok(fix.some((p) => p.test("while (x == y)")));
        assert.ok(!fix.some((p) => p.test("while (x === y)")), "a line already fixed is no candidate");
        const key = anchors(["const p = { x: 1 };"], ["const p = { x: 1, y: 2 };"]);
        assert.ok(key.some((p) => p.test("const q = { x: 5 };")));
    });

    test("one precise edit from a rewritten region, and applying it", () => {
        const original = ["a", "use(count);", "b"];
        const edit = regionEdit(original, ["a", "use(total);", "b"], 10)!;
        assert.deepEqual(edit, {
            range: { start: { line: 11, character: 4 }, end: { line: 11, character: 9 } },
            newText: "total"
        });
        assert.equal(regionEdit(original, original, 10), undefined);
        const doc = [...Array(10).fill(""), ...original];
        assert.deepEqual(applyEdit(doc, edit).slice(10), ["a", "use(total);", "b"]);
    });
});

describe("next-edit formats", () => {
    const input: NextEditInput = {
        path: "src/cart.ts",
        lines: ["let total = 0;", "a", "b", "use(count);", "c", "d"],
        edits: [{ ...hunk(0, ["let count = 0;"], ["let total = 0;"]), path: "src/cart.ts" }],
        cursor: { line: 0, character: 9 }
    };
    const text = (parts: ReturnType<NonNullable<ReturnType<typeof nextEditFormat>>["prompt"]>) =>
        parts.map((p) => (typeof p === "string" ? p : p.special)).join("");

    test("the demo model's: the prompt it was trained on, one candidate line, the change it names", () => {
        const format = nextEditFormat("auto", "MoE Pilot demo", "/x/moe-pilot-demo.gguf")!;
        assert.equal(format.name, "moe-pilot");
        const [region] = format.regions(input);
        assert.deepEqual(region, { start: 3, end: 4 }, "the use, the line alone");
        const prompt = format.prompt(input, region!);
        assert.deepEqual(prompt[0], { special: "<file_sep>" }, "the separator is a special token, the rest text");
        assert.equal(
            text(prompt),
            "<file_sep>src/cart.ts\n### Edit 1\n-count\n+total\n### Line 4\nuse(count);\n### Next\n"
        );
        assert.deepEqual(format.parse("=", input, region!), ["use(total);"], "the edit's own change");
        assert.deepEqual(format.parse("-count\n+total", input, region!), ["use(total);"], "a change named");
        assert.deepEqual(format.parse("-use\n+run", input, region!), ["run(count);"], "a change of the line's own");
        assert.equal(format.parse("", input, region!), undefined, "nothing to change");
        assert.equal(format.parse("-amount\n+total", input, region!), undefined, "a change the line does not hold");
        assert.equal(format.parse("+total\n-count", input, region!), undefined, "not the format");
        const multiLine: NextEditInput = { ...input, edits: [{ ...hunk(0, ["a"], ["a", "b"]), path: "src/cart.ts" }] };
        assert.deepEqual(format.regions(multiLine), [], "a change across lines is none to follow");
        // A hunk of three lines of which only the last changed (a neighbouring edit merged in): that line's change.
        const merged: NextEditInput = {
            ...input,
            lines: ["a", "b", "let total = 0;", "use(count);"],
            edits: [{ ...hunk(0, ["a", "b", "let count = 0;"], ["a", "b", "let total = 0;"]), path: "src/cart.ts" }]
        };
        const [use] = format.regions(merged);
        assert.match(text(format.prompt(merged, use!)), /### Edit 3\n-count\n\+total\n### Line 4\n/);
    });

    test("Zeta's and Sweep's, recognised from the model's name", () => {
        const zeta = nextEditFormat("auto", "zeta", "/m/zeta-q8_0.gguf")!;
        assert.equal(zeta.name, "zeta");
        const region = zeta.regions(input)[0]!;
        const prompt = text(zeta.prompt(input, region));
        assert.match(prompt, /^### Instruction:\nYou are a code completion assistant/);
        assert.match(
            prompt,
            /User edited "src\/cart\.ts":\n```diff\n@@ -1,4 \+1,4 @@\n-let count = 0;\n\+let total = 0;\n a\n/
        );
        assert.match(
            prompt,
            /```src\/cart\.ts\n<\|start_of_file\|>\n<\|editable_region_start\|>\nlet total<\|user_cursor_is_here\|> = 0;/
        );
        assert.ok(prompt.endsWith("<|editable_region_end|>\n```\n\n### Response:\n\n"));
        assert.deepEqual(
            zeta.parse(
                "<|editable_region_start|>\nlet total = 0;\nuse(total);\n<|editable_region_end|>",
                input,
                region
            ),
            ["let total = 0;", "use(total);"]
        );

        const sweep = nextEditFormat("auto", "", "/m/sweep-next-edit-1.5b.q8_0.v2.gguf")!;
        assert.equal(sweep.name, "sweep");
        const sp = text(sweep.prompt(input, sweep.regions(input)[0]!));
        assert.match(
            sp,
            /^<\|file_sep\|>src\/cart\.ts\.diff\noriginal:\nlet count = 0;\nupdated:\nlet total = 0;\n<\|file_sep\|>original\/src\/cart\.ts\nlet count = 0;\na\n/
        );
        assert.ok(sp.endsWith("<|file_sep|>updated/src/cart.ts\n"));
        assert.equal(nextEditFormat("zeta", "Qwen3-Coder", "/m/q.gguf")?.name, "zeta", "the setting wins");
        assert.equal(
            nextEditFormat("auto", "Qwen3 Coder 30B A3B Instruct", "/m/Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf"),
            undefined,
            "a model trained for none of them is not asked"
        );
        assert.equal(nextEditFormat("auto", "moe-pilot-demo.gguf", "http://127.0.0.1:8080")?.name, "moe-pilot");
    });

    test("a unified diff with context from the document", () => {
        assert.equal(
            unifiedDiff(hunk(3, ["x = 1"], ["x = 2"]), ["a", "b", "c", "x = 2", "d"]),
            "@@ -1,5 +1,5 @@\n a\n b\n c\n-x = 1\n+x = 2\n d"
        );
    });
});

describe("a proposal's checks", () => {
    const input: NextEditInput = {
        path: "a.ts",
        lines: ["let total = 0;", "a();", "b();", "use(count);", "c();", "d();"],
        edits: [{ ...hunk(0, ["let count = 0;"], ["let total = 0;"]), path: "a.ts" }],
        cursor: { line: 0, character: 9 }
    };
    const format = nextEditFormat("moe-pilot", "", "")!;
    /** The model's answers, in order, as the rewrite would return them. */
    const answers = (...texts: (string | { text: string; ended: false })[]) => {
        const queue = [...texts];
        return async () => {
            const next = queue.shift() ?? "";
            const [text, ended] = typeof next === "string" ? [next, true] : [next.text, next.ended];
            return { text, ended, cancelled: false, generatedTokens: 1, summary: "" };
        };
    };
    const propose = (
        rewrite: ReturnType<typeof answers>,
        syntaxErrors = async (_: string) => 0 as number | undefined
    ) => proposeNextEdit(input, format, { rewrite, syntaxErrors, timeBudgetMs: 10_000 });

    test("the first region whose rewrite changes something is the proposal", async () => {
        const { edit, tried } = await propose(answers("="));
        assert.equal(tried, 1);
        assert.deepEqual(edit, {
            range: { start: { line: 3, character: 4 }, end: { line: 3, character: 9 } },
            newText: "total"
        });
    });

    test("an answer cut short, one that undoes the user's edit, one that breaks the syntax: none is proposed", async () => {
        const cut = { text: "-count\n+to", ended: false as const };
        assert.equal((await propose(answers(cut))).edit, undefined, "cut short by a budget");
        const undo = "-total\n+count";
        const undoing: NextEditInput = { ...input, lines: input.lines };
        assert.equal(
            (
                await proposeNextEdit(
                    undoing,
                    { ...format, regions: () => [{ start: 0, end: 1 }] },
                    { rewrite: answers(undo), syntaxErrors: async () => 0, timeBudgetMs: 10_000 }
                )
            ).edit,
            undefined,
            "the user's edit put back"
        );
        const broken = await propose(answers("-count);\n+total;"), async (text) =>
            text.includes("use(total;") ? 1 : 0
        );
        assert.equal(broken.edit, undefined, "a new syntax error");
    });
});

describe("an edit as a change of whole tokens", () => {
    test("the changed tokens, widened past a change that removes only space", () => {
        assert.deepEqual(tokenChange("    const total = sum(items);", "    const grandTotal = sum(items);"), {
            removed: "total",
            added: "grandTotal"
        });
        assert.deepEqual(tokenChange("if (a == b) {", "if (a === b) {"), { removed: "==", added: "===" });
        assert.deepEqual(tokenChange("def f(a, b):", "def f(a, b, options):"), { removed: "b", added: "b, options" });
        assert.deepEqual(tokenChange("x = { a: 1 }", "x = { a: 1, id: undefined }"), {
            removed: "1",
            added: "1, id: undefined"
        });
        assert.deepEqual(tokenChange("run()", "  run()"), { removed: "run", added: "  run" }, "an indent");
        assert.equal(tokenChange("same", "same"), undefined);
        assert.equal(tokenChange("a", "a\nb"), undefined, "across lines");
    });

    test("made again at whole-token occurrences only", () => {
        assert.equal(applyChange("if (a == b && c === d)", { removed: "==", added: "===" }), "if (a === b && c === d)");
        assert.equal(
            applyChange("return subtotal + total * total", { removed: "total", added: "grandTotal" }),
            "return subtotal + grandTotal * grandTotal"
        );
        assert.equal(applyChange("r = f(x, y)", { removed: "y", added: "y, options" }), "r = f(x, y, options)");
        assert.equal(applyChange("subtotal", { removed: "total", added: "x" }), undefined);
        assert.equal(applyChange("a", { removed: "", added: "x" }), undefined);
    });
});

test("the same answers as training's Python (pipeline/train/token_change_cases.py made the cases)", () => {
    type Case = {
        before: string;
        after: string;
        line: string;
        change: [string, string] | null;
        applied: string | null;
    };
    const cases = JSON.parse(
        readFileSync(path.join(import.meta.dirname, "fixtures", "tokenChange.json"), "utf8")
    ) as Case[];
    assert.ok(cases.length >= 300);
    for (const c of cases) {
        const change = tokenChange(c.before, c.after);
        assert.deepEqual(change ? [change.removed, change.added] : null, c.change, JSON.stringify(c));
        assert.equal((change && applyChange(c.line, change)) ?? null, c.applied, JSON.stringify(c));
    }
});
