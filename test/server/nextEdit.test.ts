/**
 * Next-edit suggestions over real LSP (stdio) with the embedded demo model: the server keeps the
 * edit history from the document changes it receives, and `moePilot/nextEdit` proposes the edit
 * that follows a rename at a declaration, at a use further down.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { NextEditRequest } from "../../server/protocol";
import { DECLARED, INVOICE } from "./fixtures/invoice";
import { TestClient } from "./lspClient";

const URI = "file:///workspace/invoice.ts";

describe("next edits", () => {
    let client: TestClient;
    before(async () => {
        client = await TestClient.start(
            { settings: { nextEdit: { enabled: true, format: "auto", timeBudgetMs: 800 } } },
            undefined,
            {},
            ["/workspace"]
        );
        assert.equal((await client.settled()).state, "ready");
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
    });

    const ask = (uri: string, line: number, character: number) =>
        client.connection.sendRequest(NextEditRequest.type, { textDocument: { uri }, position: { line, character } });

    test("a document with no edit of its own gets no proposal", async () => {
        await client.open(URI, INVOICE);
        assert.deepEqual(await ask(URI, 1, 0), { items: [] });
        assert.deepEqual(await ask("file:///never/opened.ts", 0, 0), { items: [] });
    });

    test("a variable renamed at its declaration: the proposal renames its next use", async (t) => {
        // The user types the new name over the old one (one change, as a paste of the name would be).
        await client.edit(
            URI,
            {
                start: { line: DECLARED.line, character: DECLARED.start },
                end: { line: DECLARED.line, character: DECLARED.end }
            },
            "net"
        );
        const started = performance.now();
        const { items } = await ask(URI, DECLARED.line, DECLARED.start + 3);
        t.diagnostic(`proposal after ${(performance.now() - started).toFixed(0)} ms: ${JSON.stringify(items)}`);
        assert.equal(items.length, 1, "one proposal");
        const [item] = items;
        assert.ok(item!.range.start.line > DECLARED.line, "below the declaration, away from the cursor");
        const line = INVOICE.split("\n")[item!.range.start.line]!;
        const renamed =
            line.slice(0, item!.range.start.character) + item!.newText + line.slice(item!.range.end.character);
        assert.match(renamed, /\bnet\b/, `the use is renamed: ${renamed}`);
        assert.doesNotMatch(renamed, /\bsubtotal\b/);
    });

    test("asked again without an edit, the same answer from the cache: the model does not run again", async () => {
        const ran = () => client.logs.all.filter((l) => /next edit \(moe-pilot\) at lines/.test(l.message)).length;
        const first = await ask(URI, DECLARED.line, DECLARED.start + 3);
        const before = ran();
        assert.ok(before > 0, "the model was asked about a region for the first answer");
        assert.deepEqual(await ask(URI, DECLARED.line, DECLARED.start + 3), first);
        assert.equal(ran(), before, "no region was rewritten again");
    });

    test("switched off, it proposes nothing", async () => {
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { nextEdit: { enabled: false } } }
        });
        await client.edit(URI, { start: { line: 5, character: 10 }, end: { line: 5, character: 10 } }, "X");
        assert.deepEqual(await ask(URI, 5, 11), { items: [] });
    });
});
