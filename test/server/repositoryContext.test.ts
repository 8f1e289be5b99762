/**
 * Repository context over real LSP with the embedded demo model: a workspace folder on disk,
 * a class defined in a file that is never opened, and a completion in another file that needs it.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import {
    DidChangeConfigurationNotification,
    DidChangeWatchedFilesNotification,
    FileChangeType
} from "vscode-languageserver-protocol/node";
import { type ChatChunk, DefinitionsRequest, IndexStatusRequest, WorkspaceSearchRequest } from "../../server/protocol";
import { CART, checkout } from "./fixtures/shoppingCart";
import { TestClient } from "./lspClient";

const CHECKOUT = checkout("    cart.");

async function indexed(client: TestClient) {
    for (let i = 0; i < 200; i++) {
        const status = await client.connection.sendRequest(IndexStatusRequest.type);
        if (status.state === "ready") return status;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the index never became ready");
}

describe("repository context", () => {
    let client: TestClient;
    let root: string;
    before(async () => {
        root = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-workspace-"));
        mkdirSync(path.join(root, "src"));
        writeFileSync(path.join(root, "src", "cart.ts"), CART);
        writeFileSync(path.join(root, "src", "checkout.ts"), CHECKOUT);
        // Left out: what .gitignore names, and node_modules.
        writeFileSync(path.join(root, ".gitignore"), "generated/\n");
        mkdirSync(path.join(root, "generated"));
        writeFileSync(path.join(root, "generated", "big.ts"), "export const generatedTable = [1, 2, 3];\n");
        mkdirSync(path.join(root, "node_modules", "dep"), { recursive: true });
        writeFileSync(path.join(root, "node_modules", "dep", "index.js"), "module.exports = 1;\n");
        client = await TestClient.start(
            { storagePath: path.join(root, ".store"), settings: { completion: { debounceMs: 0 } } },
            undefined,
            {},
            [root]
        );
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
        rmSync(root, { recursive: true, force: true });
    });

    test("a completion at a call of a method defined in a file never opened names that method", async () => {
        assert.equal((await client.settled()).state, "ready");
        const status = await indexed(client);
        assert.equal(status.files, 2, JSON.stringify(status));
        const uri = pathToFileURL(path.join(root, "src", "checkout.ts")).href;
        await client.open(uri, CHECKOUT);
        const list = await client.complete(uri, { line: 3, character: 9 });
        const text = list?.items[0]?.insertText as string | undefined;
        const logged = client.logs.all.map((l) => l.message).filter((m) => /completion/.test(m));
        assert.ok(
            logged.some((m) => m.includes("repository context: src/cart.ts:1")),
            `the class's chunk opens the prompt: ${logged.join("\n")}`
        );
        // The members the index knows for `cart: ShoppingCart` (private `items` is not one); the model picks among them.
        // (The demo model picks addLineItem wherever it is asked: at `const total = cart.` too. Choosing by meaning is beyond it.)
        assert.ok(
            logged.some((m) => m.includes("completion starts with a member: addLineItem, computeGrandTotal")),
            logged.join("\n")
        );
        assert.match(text ?? "", /^addLineItem\b/, `the completion: ${JSON.stringify(text)}\n${logged.join("\n")}`);
    });

    test("a member the code near the cursor uses is the likelier one", async () => {
        // The demo model alone writes addLineItem here (above); the line before calls computeGrandTotal.
        const text = checkout("    const before = cart.computeGrandTotal();\n    const after = cart.");
        const uri = pathToFileURL(path.join(root, "src", "summary.ts")).href;
        await client.open(uri, text);
        const logsBefore = client.logs.all.length;
        const list = await client.complete(uri, { line: 4, character: "    const after = cart.".length });
        const logged = client.logs.all.slice(logsBefore).map((l) => l.message);
        assert.ok(
            logged.some((m) => m.includes("members the code near the cursor uses: computeGrandTotal")),
            logged.join("\n")
        );
        const completion = String(list?.items[0]?.insertText ?? "");
        assert.match(completion, /^computeGrandTotal\b/, `${JSON.stringify(completion)}\n${logged.join("\n")}`);
        await client.close(uri);
    });

    test("search finds the chunk of the unopened file by what it does", async () => {
        const { chunks } = await client.connection.sendRequest(WorkspaceSearchRequest.type, {
            query: "grand total of the cart"
        });
        assert.equal(chunks[0]?.path, "src/cart.ts");
        assert.ok(chunks[0]!.symbols.some((s) => s.startsWith("ShoppingCart")));
    });

    test("a chat with @workspace is given the chunk of a file never opened, with its path and lines", async () => {
        const chunks: ChatChunk[] = [];
        const result = await client.chat(
            {
                messages: [
                    { role: "user", content: "@workspace How is the grand total of the shopping cart computed?" }
                ],
                workspace: true,
                maxTokens: 8
            },
            (c) => chunks.push(c)
        );
        const reference = result.references.find((r) => r.label.startsWith("src/cart.ts:"));
        assert.ok(reference, JSON.stringify(result.references));
        assert.equal(reference.uri, pathToFileURL(path.join(root, "src", "cart.ts")).href);
        assert.equal(reference.label, `src/cart.ts:${reference.startLine + 1}-${reference.endLine + 1}`);
        assert.deepEqual(
            chunks[0]?.references,
            result.references,
            "the references come first, before the answer's text"
        );
        assert.equal(result.trimmed.attachments.length, 0);
    });

    test("a restart reads the index back from its store, not the files", async () => {
        assert.equal(await client.stop(), 0);
        client = await TestClient.start(
            { storagePath: path.join(root, ".store"), settings: { completion: { debounceMs: 0 } } },
            undefined,
            {},
            [root]
        );
        const status = await indexed(client);
        assert.equal(status.files, 2);
        assert.equal(status.filesRead, 0, "every file was unchanged");
        assert.match(status.store, /\.store/);
    });

    test("a file created on disk is indexed when the client says it changed", async () => {
        const file = path.join(root, "src", "invoice.ts");
        writeFileSync(file, "export function formatInvoiceNumber(n: number): string {\n    return `INV-${n}`;\n}\n");
        await client.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
            changes: [{ uri: pathToFileURL(file).href, type: FileChangeType.Created }]
        });
        for (let i = 0; i < 100; i++) {
            const { chunks } = await client.connection.sendRequest(WorkspaceSearchRequest.type, {
                query: "invoice number"
            });
            if (chunks[0]?.path === "src/invoice.ts") return;
            await new Promise((r) => setTimeout(r, 50));
        }
        assert.fail("the new file was never found");
    });

    test("an object whose type no declaration gives: the editor's type definition names the members", async () => {
        assert.equal(await client.stop(), 0);
        client = await TestClient.start(
            { storagePath: path.join(root, ".store"), definitions: true, settings: { completion: { debounceMs: 0 } } },
            undefined,
            {},
            [root]
        );
        const asked: string[] = [];
        // What VS Code's TypeScript answers for `cart` in `const cart = openCart();`: the class's name in cart.ts.
        client.connection.onRequest(DefinitionsRequest.type, (params) => {
            asked.push(params.kind ?? "definition");
            return params.positions.map(() =>
                params.kind === "typeDefinition"
                    ? [
                          {
                              uri: pathToFileURL(path.join(root, "src", "cart.ts")).href,
                              range: { start: { line: 0, character: 13 }, end: { line: 0, character: 25 } }
                          }
                      ]
                    : []
            );
        });
        await indexed(client);
        const uri = pathToFileURL(path.join(root, "src", "inferred.ts")).href;
        await client.open(uri, 'import { openCart } from "./open";\n\nconst cart = openCart();\ncart.\n');
        await client.complete(uri, { line: 3, character: 5 });
        const logged = client.logs.all.map((l) => l.message);
        assert.ok(asked.includes("typeDefinition"), asked.join(", "));
        assert.ok(
            logged.some((m) => m.includes("completion starts with a member: addLineItem, computeGrandTotal")),
            logged.filter((m) => /completion/.test(m)).join("\n")
        );
    });

    test("files.exclude changed in the editor: the index drops what it now excludes, and reads it again when it no longer does", async () => {
        assert.equal(await client.stop(), 0);
        let exclude: Record<string, boolean> = {};
        client = await TestClient.start(
            { storagePath: path.join(root, ".store") },
            (section?: string) => (section === "files.exclude" ? exclude : { completion: { debounceMs: 0 } }),
            {},
            [root]
        );
        await indexed(client);
        const found = async () =>
            (await client.connection.sendRequest(WorkspaceSearchRequest.type, { query: "addLineItem" })).chunks.some(
                (c) => c.path === "src/cart.ts"
            );
        const until = async (want: boolean) => {
            for (let i = 0; i < 100 && (await found()) !== want; i++) await new Promise((r) => setTimeout(r, 50));
            return found();
        };
        assert.equal(await until(true), true, "indexed before");
        exclude = { "**/cart.ts": true };
        await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
        assert.equal(await until(false), false, "dropped once excluded");
        exclude = {};
        await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
        assert.equal(await until(true), true, "read again once no longer excluded");
    });
});
