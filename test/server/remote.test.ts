/**
 * The remote engine: our LSP server sends completions and chat to a real llama-server (built from
 * the bundled llama.cpp, native/llamaTools.ts) on 127.0.0.1 serving the embedded model. Failures a
 * user meets reach them as clear messages: a refused connection, a missing or wrong API key, a
 * server that stops answering, a malformed stream (the last two from a deliberately broken server).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import type net from "node:net";
import { after, before, describe, test } from "node:test";
import { ResponseError } from "vscode-languageserver-protocol/node";
import { RemoteCredentialsNotification, RoutingStatsRequest, type StatusParams } from "../../server/protocol";
import { freePort, startLlamaServer, stopProcess } from "./llamaServer";
import { TestClient } from "./lspClient";

describe("remote engine", () => {
    let llama: { url: string; process: ChildProcess };
    let client: TestClient;

    /** Settings merge over the previous ones: each test states the whole remote section. */
    async function use(remote: object): Promise<StatusParams> {
        const seen = client.status.all.length;
        const full = { kind: "auto", model: "", fimFormat: "auto", timeoutMs: 30000, ...remote };
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { completion: { debounceMs: 0 }, remote: full } }
        });
        return client.status.next(
            (s) => (s.state === "ready" || s.state === "error") && client.status.all.indexOf(s) >= seen,
            "the remote engine to connect or fail"
        );
    }
    const chatError = async (): Promise<string> => {
        const e = await client
            .chat({
                messages: [{ role: "user", content: "Write a Python function that adds two numbers." }],
                maxTokens: 16
            })
            .then(
                () => undefined,
                (err: unknown) => err
            );
        assert.ok(e instanceof ResponseError, "the chat fails");
        return e.message;
    };

    before(async () => {
        llama = await startLlamaServer();
        client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        assert.equal((await client.settled()).state, "ready");
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
        await stopProcess(llama?.process);
    });

    test("completion and streamed chat go through our server to llama-server; MoE controls say why they are unavailable", async () => {
        const status = await use({ endpoint: llama.url });
        assert.equal(status.state, "ready", status.message);
        assert.equal(status.expertMode, "remote");
        assert.equal(status.model?.architecture, "remote llama-server");
        assert.equal(status.model?.path, llama.url);

        await client.open("file:///w/remote.py", "def add(a, b):\n    ");
        const list = await client.complete("file:///w/remote.py", { line: 1, character: 4 });
        const text = list?.items[0]?.insertText;
        assert.ok(
            typeof text === "string" && text.trim().length > 0,
            `a completion from /infill: ${JSON.stringify(list)}`
        );

        const chunks: string[] = [];
        const answer = await client.chat(
            { messages: [{ role: "user", content: "Write a Python function that adds two numbers." }], maxTokens: 48 },
            (c) => chunks.push(c.text)
        );
        assert.ok(answer.text.length > 0 && chunks.length > 1, `streamed in ${chunks.length} pieces`);
        assert.equal(chunks.join(""), answer.text);
        assert.ok(answer.generatedTokens > 0);

        const routing = await client.connection.sendRequest(RoutingStatsRequest.type);
        assert.equal(routing.available, false);
        assert.match(routing.reason!, /remote engine/);
    });

    test("the OpenAI-compatible path (/v1/completions with the family's FIM template) works against the same server", async () => {
        const status = await use({ endpoint: llama.url, kind: "openai", fimFormat: "qwen-coder" });
        assert.equal(status.state, "ready", status.message);
        assert.equal(status.model?.architecture, "remote openai");
        await client.open("file:///w/remote2.py", "def mul(a, b):\n    ");
        const list = await client.complete("file:///w/remote2.py", { line: 1, character: 4 });
        assert.ok(list && list.items.length > 0, JSON.stringify(list));
    });

    test("a refused connection: error status with a clear message, and back to ready when the endpoint is fixed", async () => {
        const port = await freePort();
        const status = await use({ endpoint: `http://127.0.0.1:${port}` });
        assert.equal(status.state, "error");
        assert.match(
            status.message!,
            /Cannot reach the remote engine at http:\/\/127\.0\.0\.1:\d+: the connection was refused/
        );
        assert.equal((await use({ endpoint: llama.url })).state, "ready");
    });

    test("an API key: 401 without it, a wrong one said so, and the key from secret storage makes it work", async () => {
        const secured = await startLlamaServer(["--api-key", "s3cret"]);
        try {
            const missing = await use({ endpoint: secured.url });
            assert.equal(missing.state, "error");
            assert.match(
                missing.message!,
                /refused the request \(401\): it needs an API key\. Set it with "MoE Pilot: Set Remote API Key"/
            );

            let seen = client.status.all.length;
            await client.connection.sendNotification(RemoteCredentialsNotification.type, { apiKey: "wrong" });
            const wrong = await client.status.next(
                (s) => s.state === "error" && client.status.all.indexOf(s) >= seen,
                "the retry with the wrong key"
            );
            assert.match(wrong.message!, /the API key is wrong/);

            seen = client.status.all.length;
            await client.connection.sendNotification(RemoteCredentialsNotification.type, { apiKey: "s3cret" });
            const ok = await client.status.next(
                (s) => s.state === "ready" && client.status.all.indexOf(s) >= seen,
                "the retry with the key"
            );
            assert.equal(ok.expertMode, "remote");
            const answer = await client.chat({ messages: [{ role: "user", content: "Say hello." }], maxTokens: 8 });
            assert.ok(answer.text.length > 0);
        } finally {
            await client.connection.sendNotification(RemoteCredentialsNotification.type, { apiKey: "" });
            await stopProcess(secured.process);
        }
    });

    describe("a broken server", () => {
        let broken: http.Server;
        let url: string;
        before(async () => {
            // Answers like llama-server, then misbehaves: a chat that stalls after one piece, a stream that is not JSON, an /infill that is HTML.
            broken = http.createServer((req, res) => {
                if (req.url === "/props") {
                    res.writeHead(200, { "content-type": "application/json" }).end(
                        JSON.stringify({ model_alias: "broken", default_generation_settings: { n_ctx: 2048 } })
                    );
                    return;
                }
                if (req.url === "/v1/chat/completions") {
                    let body = "";
                    req.on("data", (d: Buffer) => {
                        body += d.toString();
                    });
                    req.on("end", () => {
                        res.writeHead(200, { "content-type": "text/event-stream" });
                        if (body.includes("stall"))
                            res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "Hel" } }] })}\n\n`); // and nothing more
                        else res.end('data: {"choices": [ {oops\n\n');
                    });
                    return;
                }
                if (req.url === "/infill") {
                    res.writeHead(200, { "content-type": "text/html" }).end("<html>proxy error</html>");
                    return;
                }
                res.writeHead(404).end();
            });
            await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
            url = `http://127.0.0.1:${(broken.address() as net.AddressInfo).port}`;
        });
        after(async () => {
            broken.closeAllConnections();
            await new Promise((r) => broken.close(r));
        });

        test("a server that goes quiet mid-stream: the timeout's message", async () => {
            const status = await use({ endpoint: url, timeoutMs: 500 });
            assert.equal(status.state, "ready", status.message);
            const e = await client.chat({ messages: [{ role: "user", content: "stall" }], maxTokens: 16 }).then(
                () => undefined,
                (err: unknown) => err
            );
            assert.ok(e instanceof ResponseError);
            assert.match(
                e.message,
                /did not answer within 0\.5 s \(\/v1\/chat\/completions\).*moePilot\.remote\.timeoutMs/
            );
        });

        test("a malformed stream and a non-JSON answer: said so", async () => {
            assert.match(await chatError(), /malformed stream/);
            const seen = client.messages.all.length;
            await client.open("file:///w/broken.py", "def f():\n    ");
            assert.equal(
                await client.complete("file:///w/broken.py", { line: 1, character: 4 }),
                null,
                "no suggestion"
            );
            const shown = await client.messages.find(
                (m) => client.messages.all.indexOf(m) >= seen,
                "a message about the answer"
            );
            assert.match(shown.message, /\/infill answer is not JSON/);
        });
    });
});
