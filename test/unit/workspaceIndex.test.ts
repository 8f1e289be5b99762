/** The workspace index's parts, on real files and the real tree-sitter grammars: chunks, terms, search, definitions, the walk. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { TextDocument } from "vscode-languageserver-textdocument";
import { importedNames, namesNearCursor, RepositoryContext } from "../../server/completion/repositoryContext";
import { Chunker } from "../../server/workspace/chunker";
import { codeTerms, WorkspaceIndex } from "../../server/workspace/WorkspaceIndex";
import { excludesFrom, walkFolder } from "../../server/workspace/workspaceFiles";

const SOURCE = [
    'import { readFileSync } from "node:fs";',
    "",
    "export class Ledger {",
    ...Array.from(
        { length: 30 },
        (_, i) => `    entry${i}(amount: number): number {\n        return amount * ${i};\n    }`
    ),
    "}",
    "",
    "export function openLedger(path: string): Ledger {",
    "    return new Ledger();",
    "}",
    ""
].join("\n");

const doc = (text: string) => ({
    uri: "file:///w/a.ts",
    languageId: "typescript",
    lineCount: text.split("\n").length,
    getText: (r?: { start: { line: number }; end: { line: number } }) =>
        r
            ? text.split("\n").slice(r.start.line, r.end.line).join("\n") +
              (r.end.line < text.split("\n").length ? "\n" : "")
            : text
});

describe("workspace index", () => {
    test("a class too long for one chunk is cut into its members, each named Class.member; a function is its own chunk", async () => {
        const chunks = await new Chunker().chunk("a.ts", SOURCE);
        assert.ok(chunks.length > 2);
        assert.ok(chunks.some((c) => c.symbols.includes("Ledger.entry0")));
        assert.ok(chunks.some((c) => c.symbols.includes("openLedger")));
        for (const c of chunks) assert.ok(c.endLine - c.startLine < 60, "no chunk is longer than the limit");
        const lines = SOURCE.split("\n");
        for (const c of chunks) assert.equal(c.text, lines.slice(c.startLine, c.endLine + 1).join("\n"));
    });

    test("a file without a grammar is cut by lines, overlapping", async () => {
        const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
        const chunks = await new Chunker().chunk("notes.txt", text);
        assert.ok(chunks.length >= 3);
        assert.ok(chunks[1]!.startLine <= chunks[0]!.endLine, "windows overlap");
    });

    test("terms split identifiers the way code names things", () => {
        assert.deepEqual(codeTerms("addLineItem snake_case_name"), [
            "addlineitem",
            "add",
            "line",
            "item",
            "snake_case_name",
            "snake",
            "case",
            "name"
        ]);
    });

    test("search ranks by BM25 over terms; definitions find a symbol by its name, outside a file; a snapshot restores the same answers", async () => {
        const index = new WorkspaceIndex();
        const chunker = new Chunker();
        index.setFile("/w/ledger.ts", { mtimeMs: 1, size: 1 }, await chunker.chunk("ledger.ts", SOURCE));
        index.setFile(
            "/w/other.ts",
            { mtimeMs: 1, size: 1 },
            await chunker.chunk("other.ts", "export const greeting = 'hello';\n")
        );
        assert.equal(index.search("open ledger", 1)[0]?.chunk.file, "/w/ledger.ts");
        assert.equal(index.definitions("openLedger")[0]?.chunk.symbols.includes("openLedger"), true);
        assert.deepEqual(index.definitions("openLedger", "/w/ledger.ts"), []);
        assert.ok(index.definitions("Ledger").length > 0);

        const { snapshot, added } = index.takeSnapshot(1);
        const restored = WorkspaceIndex.restore(JSON.parse(JSON.stringify(snapshot)), added);
        assert.deepEqual(
            restored.search("greeting hello", 3).map((h) => h.text),
            index.search("greeting hello", 3).map((h) => h.text)
        );
        restored.removeFile("/w/other.ts");
        assert.deepEqual(restored.search("greeting", 3), []);
        assert.equal(restored.fileCount, 1);
    });

    test("the names near the cursor leave out the word being typed and keywords, nearest first", () => {
        const text = "const cart = new ShoppingCart();\nconst total = cart.comp";
        const names = namesNearCursor(doc(text), { line: 1, character: 23 }).map((n) => n.name);
        assert.deepEqual(names, ["cart", "total", "ShoppingCart"]);
    });

    test("after `object.`, the type the object was declared with far above comes first in the context, the same while the member is typed", async () => {
        const index = new WorkspaceIndex();
        const chunker = new Chunker();
        index.setFile("/w/ledger.ts", { mtimeMs: 1, size: 1 }, await chunker.chunk("ledger.ts", SOURCE));
        index.setFile(
            "/w/audit.ts",
            { mtimeMs: 1, size: 1 },
            await chunker.chunk(
                "audit.ts",
                "export function audit(total: number): boolean {\n    return total > 0;\n}\n"
            )
        );
        const real = (text: string) => TextDocument.create("file:///w/a.ts", "typescript", 1, text);
        const context = new RepositoryContext(
            () => index,
            (f) => path.basename(f),
            async () => []
        );
        // `book` is declared 40 lines above: outside the names looked up near the cursor.
        const lines = ["const book = new Ledger();", ...Array.from({ length: 40 }, (_, i) => `audit(${i});`), "book."];
        const at = (typed: string) => {
            const text = [...lines.slice(0, -1), `book.${typed}`].join("\n");
            return context.snippets(real(text), { line: lines.length - 1, character: 5 + typed.length }, [], undefined);
        };
        const first = await at("");
        assert.match(first[0]?.path ?? "", /^ledger\.ts:/, JSON.stringify(first));
        assert.ok(
            first.some((s) => s.path.startsWith("audit.ts")),
            "the names near the cursor still follow"
        );
        assert.deepEqual(await at("entr"), first);
        // Without the declaration, the type is not guessed.
        const bare = await context.snippets(real("book."), { line: 0, character: 5 }, [], undefined);
        assert.ok(!bare.some((s) => s.path.startsWith("ledger.ts")), JSON.stringify(bare));
    });

    test("imported names are read from ES imports, require() and Python's from-imports", () => {
        const text = [
            'import Default, { Alpha, Beta as B, type Gamma } from "./x";',
            'import * as ns from "./y";',
            "const SemVer = require('../classes/semver');",
            "const { parse, compare } = require('./functions');",
            "from collections import OrderedDict, deque",
            "export const unrelated = 1;"
        ].join("\n");
        assert.deepEqual(importedNames(doc(text)), [
            "Default",
            "Alpha",
            "Beta",
            "Gamma",
            "ns",
            "SemVer",
            "parse",
            "compare",
            "OrderedDict",
            "deque"
        ]);
    });

    test("the walk honours .gitignore (nested too), files.exclude, the size cap and the file cap", async () => {
        const root = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-walk-"));
        try {
            mkdirSync(path.join(root, "src", "gen"), { recursive: true });
            mkdirSync(path.join(root, "build"));
            writeFileSync(path.join(root, ".gitignore"), "build/\n");
            writeFileSync(path.join(root, "src", ".gitignore"), "*.gen.ts\n");
            writeFileSync(path.join(root, "src", "a.ts"), "export const a = 1;\n");
            writeFileSync(path.join(root, "src", "b.gen.ts"), "export const b = 1;\n");
            writeFileSync(path.join(root, "src", "gen", "c.ts"), "export const c = 1;\n");
            writeFileSync(path.join(root, "src", "big.ts"), "x".repeat(5000));
            writeFileSync(path.join(root, "build", "d.ts"), "export const d = 1;\n");
            const found: string[] = [];
            const walk = (maxFiles: number, exclude: unknown) =>
                walkFolder(
                    root,
                    { maxFiles, maxFileBytes: 1000 },
                    excludesFrom(exclude),
                    (f) => void found.push(path.relative(root, f.path)),
                    () => false
                );
            assert.equal(await walk(100, { "**/gen": true }), true);
            assert.deepEqual(found.sort(), ["src/a.ts"]);
            found.length = 0;
            assert.equal(await walk(1, {}), false, "the file cap ends the walk");
            assert.equal(found.length, 1);
        } finally {
            rmSync(root, { recursive: true, force: true });
        }
    });
});
