/**
 * The server's life and its manners, through the real server on the embedded model:
 * - privacy: a whole session (load, completions, a chat, routing statistics, a reload) attempts
 *   no network connection and no DNS lookup (fixtures/recordNetwork.cjs records any from the
 *   server's JavaScript; llama.cpp is built without a downloader);
 * - an editor that goes away without `shutdown`: the server exits when its stdin closes, and when
 *   the process named in `initialize` (processId) dies, leaving no child process behind.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { RoutingStatsRequest } from "../../server/protocol";
import { TestClient } from "./lspClient";

const DOC = "file:///w/a.py";
const TEXT = "def add(a, b):\n    return ";

/** Every process whose parent chain leads to `pid`. */
function descendants(pid: number): number[] {
    const out: number[] = [];
    for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
        try {
            const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]);
            if (ppid === pid) out.push(Number(entry), ...descendants(Number(entry)));
        } catch {
            /* gone meanwhile */
        }
    }
    return out;
}

const alive = (pid: number) =>
    existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, "utf8"));
const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) =>
        child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code))
    );

describe("server lifecycle and privacy", { timeout: 5 * 60_000 }, () => {
    test("a whole session attempts no network connection", async () => {
        const log = path.join(mkdtempSync(path.join(os.tmpdir(), "moe-pilot-net-")), "network.jsonl");
        const client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } }, undefined, {
            NODE_OPTIONS: `--require ${path.join(import.meta.dirname, "fixtures", "recordNetwork.cjs")}`,
            MOE_PILOT_NETWORK_LOG: log
        });
        try {
            assert.equal((await client.settled()).state, "ready");
            await client.open(DOC, TEXT, "python");
            assert.ok((await client.complete(DOC, { line: 1, character: 11 }))?.items.length !== undefined);
            await client.chat({
                messages: [{ role: "user", content: "What does add do?" }],
                attachments: [],
                k: "auto",
                maxTokens: 16
            });
            await client.connection.sendRequest(RoutingStatsRequest.type);
        } finally {
            await client.stop();
        }
        assert.ok(
            !existsSync(log) || readFileSync(log, "utf8").trim() === "",
            `network attempts: ${existsSync(log) ? readFileSync(log, "utf8") : ""}`
        );
        // and the recorder does record: a connection attempt in a process with it preloaded shows up
        const probe = spawn(
            process.execPath,
            ["-e", "require('node:net').connect(80, 'example.invalid').on('error', () => {})"],
            {
                env: {
                    ...process.env,
                    NODE_OPTIONS: `--require ${path.join(import.meta.dirname, "fixtures", "recordNetwork.cjs")}`,
                    MOE_PILOT_NETWORK_LOG: log
                }
            }
        );
        await exitOf(probe);
        assert.match(readFileSync(log, "utf8"), /"kind":"connect","host":"example.invalid","port":80/);
    });

    test("the editor's pipe closes without shutdown: the server exits, leaving no process", async () => {
        const client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        assert.equal((await client.settled()).state, "ready");
        const pid = client.process.pid!;
        const children = descendants(pid);
        client.process.stdin!.end(); // the editor is gone
        const code = await Promise.race([
            exitOf(client.process),
            new Promise<string>((r) => setTimeout(() => r("still running"), 15_000))
        ]);
        assert.notEqual(code, "still running", "the server exits within 15 s of its stdin closing");
        for (const c of children) assert.ok(!alive(c), `child ${c} outlived the server`);
    });

    test("the editor's process dies (initialize's processId): the server exits", async () => {
        const editor = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
        const server = spawn(
            process.execPath,
            [path.join(import.meta.dirname, "..", "..", "dist", "server.js"), "--stdio"],
            { stdio: ["pipe", "pipe", "ignore"] }
        );
        server.stdout!.resume();
        const body = JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "initialize",
            params: {
                processId: editor.pid,
                rootUri: null,
                capabilities: {},
                initializationOptions: { extensionRoot: path.resolve(import.meta.dirname, "..", "..") }
            }
        });
        server.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        await new Promise((r) => setTimeout(r, 1000));
        editor.kill("SIGKILL"); // stdin stays open: only the watchdog can notice
        const code = await Promise.race([
            exitOf(server),
            new Promise<string>((r) => setTimeout(() => r("still running"), 15_000))
        ]);
        if (code === "still running") server.kill("SIGKILL");
        assert.notEqual(code, "still running", "the server exits within 15 s of the editor's death");
    });
});
