/**
 * The real server over real LSP (stdio) with the real engine and the random-weight test MoE.
 * The test model's words are noise: these tests check plumbing and shapes, never content.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
    CancellationTokenSource,
    type InlineCompletionList,
    InlineCompletionTriggerKind
} from "vscode-languageserver-protocol/node";
import { StatusRequest, ReloadModelRequest } from "../../server/protocol";
import { TEST_MODELS, TestClient } from "./lspClient";

const SOURCE = [
    "export function add(a: number, b: number): number {",
    "    ",
    "}",
    "",
    "export const total = add(1, );",
    ""
].join("\n");

function assertFits(list: InlineCompletionList | null, text: string, position: { line: number; character: number }) {
    assert.ok(list, "a completion list");
    const lines = text.split("\n");
    for (const item of list.items) {
        assert.equal(typeof item.insertText, "string");
        const range = item.range!;
        assert.ok(
            range.start.line === position.line && range.end.line === position.line,
            "the range is on the cursor's line"
        );
        assert.ok(range.end.character <= lines[position.line]!.length, "the range ends inside the line");
        assert.deepEqual(range.start, position);
    }
}

describe("inline completion over LSP", () => {
    let client: TestClient;
    before(async () => {
        client = await TestClient.start({ settings: { modelPath: TEST_MODELS.moe, completion: { debounceMs: 0 } } });
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0, "shutdown and exit end the server cleanly");
    });

    test("initialize announces incremental sync and inline completion", () => {
        const caps = client.initializeResult!.capabilities;
        assert.equal(caps.textDocumentSync, 2);
        assert.equal(caps.inlineCompletionProvider, true);
    });

    test("loading reports $/progress and ends ready with the model's MoE shape", async () => {
        const status = await client.settled();
        assert.equal(status.state, "ready", status.message);
        assert.equal(status.model!.architecture, "qwen3moe");
        assert.equal(status.model!.isMoe, true);
        assert.equal(status.model!.expertCount, 8);
        assert.equal(status.model!.trainedK, 2);
        assert.equal(status.completionK, 2);
        assert.equal(status.expertMode, "native", "the patched llama.cpp (native/) is what runs");
        assert.equal(status.model!.fimSource, "gguf-tokens");
        assert.equal(status.model!.isEmbedded, false, "the test model is not the embedded one");
        const kinds = client.progress.all.map((p) => (p as { value: { kind: string } }).value.kind);
        assert.deepEqual([kinds[0], kinds.at(-1)], ["begin", "end"]);
        assert.deepEqual(await client.connection.sendRequest(StatusRequest.type), status);
    });

    test("completions at several positions have ranges that fit the document", async () => {
        await client.open("file:///w/add.ts", SOURCE);
        for (const position of [
            { line: 1, character: 4 },
            { line: 4, character: 28 },
            { line: 3, character: 0 },
            { line: 0, character: 51 }
        ]) {
            const list = await client.complete("file:///w/add.ts", position);
            assertFits(list, SOURCE, position);
        }
        const midLine = await client.complete("file:///w/add.ts", { line: 4, character: 28 });
        for (const item of midLine!.items)
            assert.ok(!String(item.insertText).includes("\n"), "mid-line suggestions are one line");
    });

    test("incremental edits reach the server, and a typed character reuses the KV cache", async () => {
        const uri = "file:///w/typing.ts";
        let text = "function greet(name: string) {\n    return ";
        await client.open(uri, text);
        await client.complete(uri, { line: 1, character: 11 });
        await client.edit(uri, { start: { line: 1, character: 11 }, end: { line: 1, character: 11 } }, "`");
        text += "`";
        const logsBefore = client.logs.all.length;
        const list = await client.complete(uri, { line: 1, character: 12 });
        assertFits(list, text, { line: 1, character: 12 });
        const line = client.logs.all
            .slice(logsBefore)
            .map((l) => l.message)
            .find((m) => m.includes("prompt tokens evaluated"));
        assert.ok(line, "the completion ran the model");
        const [evaluated, total] = /(\d+)\/(\d+) prompt tokens evaluated/.exec(line)!.slice(1).map(Number);
        assert.ok(evaluated! < total! / 2, `only the new tokens are evaluated: ${line}`);
    });

    test("a repeated request is served from the cache", async () => {
        const uri = "file:///w/cache.ts";
        await client.open(uri, "const items = [1, 2, 3];\n");
        const first = await client.complete(uri, { line: 1, character: 0 });
        const logsBefore = client.logs.all.length;
        const second = await client.complete(uri, { line: 1, character: 0 });
        assert.deepEqual(second, first);
        assert.ok(client.logs.all.slice(logsBefore).some((l) => l.message.includes("served from cache")));
    });

    test("cancelling stops generation mid-way", async () => {
        const uri = "file:///w/cancel.ts";
        // Long generations on request: many tokens, a generous time budget.
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: {
                moePilot: {
                    modelPath: TEST_MODELS.moe,
                    completion: { debounceMs: 0, maxTokens: 1024, timeBudgetMs: 60000, extraContext: false }
                }
            }
        });
        await client.open(uri, "// a file with room to write\n");
        const cancel = new CancellationTokenSource();
        const started = client.logs.next((l) => l.message.includes("completion: first token"), "generation to start");
        const request = client.complete(uri, { line: 1, character: 0 }, cancel);
        await started;
        cancel.cancel();
        assert.equal(await request, null, "a cancelled completion answers null");
        const done = await client.logs.find(
            (l) => l.message.includes("completion cancelled after"),
            "the cancellation"
        );
        const generated = Number(/after (\d+) generated/.exec(done.message)![1]);
        assert.ok(generated > 0 && generated < 1024, `generation stopped part-way: ${done.message}`);
        // The lane is free again: the next request completes.
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { modelPath: TEST_MODELS.moe, completion: { debounceMs: 0 } } }
        });
        assertFits(await client.complete(uri, { line: 0, character: 5 }), "// a file with room to write\n", {
            line: 0,
            character: 5
        });
    });

    test("a newer request aborts the one in flight", async () => {
        const uri = "file:///w/newer.ts";
        await client.open(uri, "let value = \n");
        const first = client.complete(
            uri,
            { line: 0, character: 12 },
            undefined,
            InlineCompletionTriggerKind.Automatic
        );
        const second = client.complete(
            uri,
            { line: 0, character: 4 },
            undefined,
            InlineCompletionTriggerKind.Automatic
        );
        const [a, b] = await Promise.all([first, second]);
        assert.equal(a, null, "the older request was superseded");
        assertFits(b, "let value = \n", { line: 0, character: 4 });
    });

    test("two open documents are completed independently, and closing one is fine", async () => {
        await client.open("file:///w/one.py", "def one():\n    return 1\n", "python");
        await client.open("file:///w/two.py", "def two():\n    \n", "python");
        assertFits(await client.complete("file:///w/two.py", { line: 1, character: 4 }), "def two():\n    \n", {
            line: 1,
            character: 4
        });
        assertFits(
            await client.complete("file:///w/one.py", { line: 1, character: 12 }),
            "def one():\n    return 1\n",
            { line: 1, character: 12 }
        );
        await client.close("file:///w/one.py");
        assert.equal(
            await client.complete("file:///w/one.py", { line: 0, character: 0 }),
            null,
            "a closed document has no completions"
        );
    });

    test("reload loads the model again and reports ready", async () => {
        const status = await client.connection.sendRequest(ReloadModelRequest.type);
        assert.equal(status.state, "ready");
    });
});

describe("code actions over LSP", () => {
    test("a selection offers explain/edit/document/tests; problems offer a fix", async () => {
        const client = await TestClient.start({ settings: { modelPath: TEST_MODELS.moe } });
        try {
            await client.settled();
            const uri = "file:///w/actions.ts";
            await client.open(uri, "const a = 1;\nconst b = a +;\n");
            const range = { start: { line: 0, character: 0 }, end: { line: 1, character: 13 } };
            const actions = (await client.connection.sendRequest("textDocument/codeAction", {
                textDocument: { uri },
                range,
                context: { diagnostics: [] }
            })) as { title: string; command: { command: string; arguments: unknown[] } }[];
            assert.deepEqual(actions.map((a) => a.command.command).sort(), [
                "moePilot.addDocComment",
                "moePilot.editSelection",
                "moePilot.explain",
                "moePilot.generateTests"
            ]);
            assert.deepEqual(actions[0]!.command.arguments, [uri, range]);
            const diagnostic = {
                range: { start: { line: 1, character: 13 }, end: { line: 1, character: 14 } },
                message: "Expression expected."
            };
            const cursor = { start: diagnostic.range.start, end: diagnostic.range.start };
            const fixes = (await client.connection.sendRequest("textDocument/codeAction", {
                textDocument: { uri },
                range: cursor,
                context: { diagnostics: [diagnostic] }
            })) as { kind: string; command: { command: string } }[];
            assert.deepEqual(
                fixes.map((a) => [a.kind, a.command.command]),
                [["quickfix", "moePilot.fix"]],
                "at a cursor on a problem: only the fix"
            );
        } finally {
            await client.stop();
        }
    });
});
