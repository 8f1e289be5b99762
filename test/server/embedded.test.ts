/**
 * The embedded demo model as a user meets it: the default when no model is set, checked against
 * its SHA-256, completing real code. (Content is not asserted: a demo model's exact words are
 * not a contract; docs/MODEL_CARD.md measures its quality.)
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { EMBEDDED_MODEL_FILE } from "../../server/models/embeddedModel";
import { RoutingStatsRequest } from "../../server/protocol";
import { ROOT, TestClient } from "./lspClient";

const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-embedded-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("the embedded demo model", () => {
    test("is the default, loads after its checksum is verified, and completes", async () => {
        const client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        try {
            const status = await client.settled();
            assert.equal(status.state, "ready", status.message);
            assert.equal(status.model!.isEmbedded, true);
            assert.equal(status.model!.architecture, "qwen3moe");
            assert.equal(status.model!.expertCount, 8);
            assert.equal(status.model!.trainedK, 2);
            assert.equal(status.model!.fimSource, "gguf-tokens");
            const uri = "file:///w/stats.py";
            const text = "def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return ";
            await client.open(uri, text, "python");
            const list = await client.complete(uri, { line: 4, character: 11 });
            assert.ok(list && list.items.length === 1, "a suggestion");
            assert.ok(String(list.items[0]!.insertText).trim().length > 0);
            // a token of the demo model reads a few MB: `auto` leaves speculation off, and says why
            const { speculation } = await client.connection.sendRequest(RoutingStatsRequest.type);
            assert.equal(speculation?.on, false);
            assert.match(speculation!.reason, /^off \(auto\): a token reads [\d.]+ MiB of weights/);

            // A line the model only goes on repeating: generation stops at the loop, which is shown once.
            const loopUri = "file:///w/loop.ts";
            const loop = "const total = a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + ";
            await client.open(loopUri, loop);
            const before = client.logs.all.length;
            const looped = await client.complete(loopUri, { line: 0, character: loop.length });
            const summary = client.logs.all
                .slice(before)
                .map((l) => l.message)
                .find((m) => m.includes("stop:"));
            assert.match(summary ?? "", /stop: repeating/);
            const shown = String(looped?.items[0]?.insertText ?? "");
            assert.ok(!/(a \+ ){2}/.test(shown), `the loop is shown once at most: ${JSON.stringify(shown)}`);
        } finally {
            await client.stop();
        }
    });

    test("an invoked completion and a chat message sent right after initialized wait for the load, then answer", async () => {
        // As a plain LSP client does it: no waiting for the status, the request the moment the server is up.
        const client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        try {
            const uri = "file:///w/first.py";
            const text = "def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return ";
            await client.open(uri, text, "python");
            const readyBefore = client.status.all.some((s) => s.state === "ready");
            const [list, answer] = await Promise.all([
                client.complete(uri, { line: 4, character: 11 }),
                client.chat({ messages: [{ role: "user", content: "What does mean do?" }], maxTokens: 16 })
            ]);
            assert.equal(readyBefore, false, "the requests went out before the model was ready");
            assert.ok(list && list.items.length === 1, "a suggestion, not an empty list");
            assert.ok(String(list.items[0]!.insertText).trim().length > 0);
            assert.ok(answer.text.length > 0, "a chat answer");
            assert.ok(
                client.logs.all.some((l) => /waiting for the model to load/.test(l.message)),
                "it waited"
            );
        } finally {
            await client.stop();
        }
    });

    test("a line goes on the way the lines above it went (the repetition prior, on by default here)", async () => {
        const lines = async (repetitionPrior: "auto" | "off") => {
            const client = await TestClient.start({ settings: { completion: { debounceMs: 0, repetitionPrior } } });
            try {
                await client.settled();
                const said = client.logs.all.map((l) => l.message).find((m) => m.includes("repetition prior"));
                const cases = [
                    [
                        "conn.js",
                        "class Connection {\n    constructor() {\n        this.errorEmitter = new events_1.Emitter();\n        this.closeEmitter = new events_1."
                    ],
                    [
                        "queue.js",
                        "function drain(queue) {\n    const first = queue.items.shift();\n    const second = queue.items."
                    ]
                ];
                const got: string[] = [];
                for (const [name, text] of cases) {
                    const uri = `file:///w/${name}`;
                    await client.open(uri, text!, "javascript");
                    const last = text!.split("\n");
                    const list = await client.complete(uri, { line: last.length - 1, character: last.at(-1)!.length });
                    got.push(String(list?.items[0]?.insertText ?? ""));
                }
                return { said, got };
            } finally {
                await client.stop();
            }
        };
        const on = await lines("auto");
        assert.match(on.said ?? "", /repetition prior: on \(auto: measured on the embedded model\)/);
        // The demo model alone writes `get(1, 2, …` and `slice();` here: it copies little from its context.
        assert.match(on.got[0]!, /^Emitter\(/, JSON.stringify(on.got));
        assert.match(on.got[1]!, /^shift\(/, JSON.stringify(on.got));
        const off = await lines("off");
        assert.match(off.said ?? "", /repetition prior: off \(off: moePilot\.completion\.repetitionPrior\)/);
        assert.doesNotMatch(off.got[0]!, /^Emitter\(/, "the prior made the difference");
    });

    test("a damaged copy is refused with a clear message", async () => {
        // An extension root whose embedded model has one byte changed.
        const copy = path.join(dir, EMBEDDED_MODEL_FILE);
        mkdirSync(path.dirname(copy), { recursive: true });
        const original = path.join(ROOT, EMBEDDED_MODEL_FILE);
        const bytes = readFileSync(original);
        bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
        writeFileSync(copy, bytes);
        copyFileSync(`${original}.sha256`, `${copy}.sha256`);
        const client = await TestClient.start({ extensionRoot: dir });
        try {
            const status = await client.settled();
            assert.equal(status.state, "error");
            assert.match(status.message!, /embedded model is damaged \(SHA-256/);
        } finally {
            await client.stop();
        }
    });
});
