/**
 * Hostile input for the language server, over raw stdio frames (no client library to tidy them
 * up): requests before `initialize`, bodies that are not JSON, wrong types and out-of-range values
 * in every method the server handles, unknown methods, a 16 MB document and a 4 MB garbage body.
 * The server must answer each request (a result or a JSON-RPC error), never exit, and still
 * complete normally at the end. The count of cases is printed for docs/RELIABILITY.md.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { ROOT, SERVER } from "./lspClient";
import { RawPeer } from "./rawPeer";

const pos = (line: unknown, character: unknown) => ({ line, character });
const DOC = "file:///fuzz/a.ts";

/** Wrong types and out-of-range values for each method the server handles. */
const REQUESTS: [string, unknown][] = [
    ["textDocument/inlineCompletion", null],
    ["textDocument/inlineCompletion", "a string"],
    ["textDocument/inlineCompletion", { textDocument: { uri: DOC }, position: "3:4", context: { triggerKind: 1 } }],
    [
        "textDocument/inlineCompletion",
        { textDocument: { uri: DOC }, position: pos(-1, -1), context: { triggerKind: 1 } }
    ],
    [
        "textDocument/inlineCompletion",
        { textDocument: { uri: DOC }, position: pos(1e9, 1e9), context: { triggerKind: 1 } }
    ],
    [
        "textDocument/inlineCompletion",
        { textDocument: { uri: DOC }, position: pos(0.5, NaN), context: { triggerKind: 1 } }
    ],
    [
        "textDocument/inlineCompletion",
        { textDocument: { uri: "file:///not/open.ts" }, position: pos(0, 0), context: { triggerKind: 1 } }
    ],
    ["textDocument/inlineCompletion", { textDocument: {}, position: pos(0, 0) }],
    ["textDocument/inlineCompletion", { textDocument: { uri: 42 }, position: pos(0, 0), context: null }],
    ["moePilot/chat/send", null],
    ["moePilot/chat/send", { messages: "hello" }],
    ["moePilot/chat/send", { messages: [{ role: "system", content: 5 }], experts: "lots", maxTokens: -1 }],
    [
        "moePilot/chat/send",
        { messages: [{ role: "user", content: "hi" }], experts: 1e9, maxTokens: 1e12, attachments: "none" }
    ],
    [
        "moePilot/chat/send",
        {
            messages: [{ role: "user", content: "hi" }],
            attachments: [{ kind: "file", label: 3, text: null }],
            maxTokens: 2
        }
    ],
    ["moePilot/chat/send", { messages: [], maxTokens: 2 }],
    ["moePilot/routing/stats", { unexpected: true }],
    ["moePilot/status", [1, 2, 3]],
    ["moePilot/model/reload", "now"],
    [
        "textDocument/codeAction",
        { textDocument: { uri: DOC }, range: { start: pos(5, 0), end: pos(-3, 2) }, context: { diagnostics: "x" } }
    ],
    ["textDocument/codeAction", null],
    ["workspace/executeCommand", { command: "rm -rf /", arguments: [] }],
    ["no/such/method", {}],
    ["$/no-such-request", null],
    ["shutdownish", 1]
];

const NOTIFICATIONS: [string, unknown][] = [
    ["textDocument/didOpen", { textDocument: { uri: DOC, languageId: "typescript", version: "one", text: 12 } }],
    ["textDocument/didOpen", null],
    [
        "textDocument/didChange",
        {
            textDocument: { uri: DOC, version: 2 },
            contentChanges: [{ range: { start: pos(100, 100), end: pos(0, 0) }, text: "x" }]
        }
    ],
    [
        "textDocument/didChange",
        { textDocument: { uri: "file:///never/opened.ts", version: 2 }, contentChanges: [{ text: "x" }] }
    ],
    ["textDocument/didChange", { textDocument: { uri: DOC }, contentChanges: "all of it" }],
    ["textDocument/didClose", { textDocument: { uri: "file:///never/opened.ts" } }],
    [
        "workspace/didChangeConfiguration",
        {
            settings: {
                moePilot: {
                    threads: "many",
                    contextSize: -5,
                    completion: { maxTokens: 1e9, experts: "x" },
                    memory: { budget: -1 }
                }
            }
        }
    ],
    ["workspace/didChangeConfiguration", null],
    ["$/cancelRequest", { id: "nothing" }],
    ["$/setTrace", { value: 17 }],
    ["no/such/notification", [1, 2]]
];

/** Bodies that are not JSON-RPC at all. */
const GARBAGE: Buffer[] = [
    Buffer.from("{"),
    Buffer.from("not json at all"),
    Buffer.from("[]"),
    Buffer.from("null"),
    Buffer.from('{"jsonrpc":"2.0","id":{"nested":true},"method":"textDocument/inlineCompletion"}'),
    Buffer.from('{"jsonrpc":"1.0","method":5}'),
    Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xa0, 0xa1]),
    Buffer.alloc(4 << 20, 0x61) // 4 MB of "a"
];

describe("hostile input to the language server", { timeout: 5 * 60_000 }, () => {
    let peer: RawPeer;
    let cases = 0;

    before(() => {
        const child = spawn(process.execPath, [SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
        child.stderr!.on("data", (d: Buffer) => {
            if (process.env.FUZZ_DEBUG) process.stderr.write(d);
        });
        peer = new RawPeer(child);
    });

    after(() => {
        peer.child.kill("SIGKILL");
    });

    test("requests before initialize get an error, not a crash", async () => {
        for (const [method, params] of REQUESTS.slice(0, 6)) {
            const r = await peer.request(method, params);
            cases++;
            assert.ok(r.error, `${method} before initialize answered without an error`);
        }
        assert.equal(peer.exited, undefined);
    });

    test("after initialize: every malformed request is answered, notifications and garbage are survived", async () => {
        const init = await peer.request("initialize", {
            processId: process.pid,
            rootUri: null,
            capabilities: { window: { workDoneProgress: true }, textDocument: { inlineCompletion: {} } },
            initializationOptions: { extensionRoot: ROOT, settings: { completion: { debounceMs: 0 } } }
        });
        assert.ok(init.result, init.error?.message);
        peer.send({ jsonrpc: "2.0", method: "initialized", params: {} });
        await peer.wait(
            (m) => m.method === "moePilot/status/changed" && (m.params as { state: string }).state === "ready",
            "the model to load"
        );
        peer.send({
            jsonrpc: "2.0",
            method: "textDocument/didOpen",
            params: {
                textDocument: {
                    uri: DOC,
                    languageId: "typescript",
                    version: 1,
                    text: "export function add(a: number, b: number) {\n    return "
                }
            }
        });

        for (const [method, params] of NOTIFICATIONS) {
            peer.send({ jsonrpc: "2.0", method, params });
            cases++;
        }
        for (const body of GARBAGE) {
            peer.sendRaw(body);
            cases++;
        }
        // a 16 MB document, changed and closed
        const huge = "x".repeat(16 << 20);
        peer.send({
            jsonrpc: "2.0",
            method: "textDocument/didOpen",
            params: { textDocument: { uri: "file:///fuzz/huge.txt", languageId: "plaintext", version: 1, text: huge } }
        });
        peer.send({
            jsonrpc: "2.0",
            method: "textDocument/didChange",
            params: {
                textDocument: { uri: "file:///fuzz/huge.txt", version: 2 },
                contentChanges: [{ range: { start: pos(0, 5), end: pos(0, 6) }, text: "\n".repeat(1000) }]
            }
        });
        const hugeCompletion = await peer.request("textDocument/inlineCompletion", {
            textDocument: { uri: "file:///fuzz/huge.txt" },
            position: pos(500, 0),
            context: { triggerKind: 1 }
        });
        assert.ok(!hugeCompletion.error || hugeCompletion.error.code !== undefined);
        peer.send({
            jsonrpc: "2.0",
            method: "textDocument/didClose",
            params: { textDocument: { uri: "file:///fuzz/huge.txt" } }
        });
        cases += 4;

        let errors = 0;
        for (const [method, params] of REQUESTS) {
            const r = await peer.request(method, params);
            cases++;
            if (r.error) {
                errors++;
                assert.equal(typeof r.error.code, "number");
                assert.equal(typeof r.error.message, "string");
            }
        }
        assert.ok(
            errors >= REQUESTS.length / 3,
            `only ${errors} of ${REQUESTS.length} malformed requests were refused`
        );
        const unknown = await peer.request("no/such/method", {});
        assert.equal(unknown.error?.code, -32601, "an unknown method is MethodNotFound");
        assert.equal(peer.exited, undefined, "the server is still running");
    });

    test("and then it still completes normally", async (t) => {
        // the fuzzing asked for a model reload among other things: wait until it is ready again
        for (let i = 0; i < 300; i++) {
            const status = await peer.request("moePilot/status/get", null);
            if ((status.result as { state?: string } | undefined)?.state === "ready") break;
            await new Promise((r) => setTimeout(r, 200));
        }
        const fresh = "file:///fuzz/fresh.ts";
        peer.send({
            jsonrpc: "2.0",
            method: "textDocument/didOpen",
            params: {
                textDocument: {
                    uri: fresh,
                    languageId: "typescript",
                    version: 1,
                    text: "export function add(a: number, b: number) {\n    return "
                }
            }
        });
        const r = await peer.request("textDocument/inlineCompletion", {
            textDocument: { uri: fresh },
            position: pos(1, 11),
            context: { triggerKind: 1 }
        });
        assert.equal(r.error, undefined, r.error?.message);
        if (process.env.FUZZ_DEBUG)
            console.log(
                peer.received
                    .filter((m) => m.method === "window/logMessage")
                    .slice(-15)
                    .map((m) => (m.params as { message: string }).message)
                    .join("\n")
            );
        assert.ok(Array.isArray((r.result as { items: unknown[] }).items));
        const shutdown = await peer.request("shutdown", null);
        assert.equal(shutdown.error, undefined);
        peer.send({ jsonrpc: "2.0", method: "exit" });
        const code = await new Promise<number | null>((resolve) => peer.child.once("exit", resolve));
        assert.equal(code, 0, "shutdown then exit ends the server cleanly");
        t.diagnostic(`fuzz cases: ${cases}`);
    });
});
