/**
 * Soak: the real server and model under typing-speed load for a while (SOAK_SECONDS, default 90).
 * A file is typed a character every 30 ms, with a completion asked for at each keystroke and the
 * previous one cancelled by the next keystroke, as VS Code does. Every request must end in an
 * answer or a cancellation, the server's memory must stay flat over the second half, and the
 * same fixed completions must come out before and after. Figures (requests, RSS, latencies)
 * are printed for docs/RELIABILITY.md; times are reported, not asserted.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { CancellationTokenSource, InlineCompletionTriggerKind } from "vscode-languageserver-protocol/node";
import { ROOT, TestClient } from "./lspClient";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 90);
const KEYSTROKE_MS = 30;
const SOURCE = readFileSync(path.join(ROOT, "server", "completion", "filters.ts"), "utf8");

const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("soak", { timeout: (SECONDS + 120) * 1000 }, () => {
    test(`${SECONDS} s of typing with cancelled completions: every request ends, memory stays flat, results unchanged`, async (t) => {
        const client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        try {
            assert.equal((await client.settled()).state, "ready");
            const pid = client.process.pid!;
            /** Ten model runs at fixed places (a different first line each, so no cache serves them) in a new document. */
            const probe = async (name: string) => {
                const uri = `file:///soak/${name}.ts`;
                await client.open(
                    uri,
                    "// v\nexport function area(width: number, height: number): number {\n    return "
                );
                const times: number[] = [],
                    texts: string[] = [];
                for (let i = 0; i < 10; i++) {
                    await client.edit(
                        uri,
                        { start: { line: 0, character: 0 }, end: { line: 0, character: 100 } },
                        `// v${i}`
                    );
                    const t0 = performance.now();
                    const r = await client.complete(uri, { line: 2, character: 11 });
                    times.push(performance.now() - t0);
                    texts.push((r?.items[0]?.insertText as string) ?? "");
                }
                await client.close(uri);
                return { median: median(times), texts };
            };
            const before = await probe("before");
            const rssStart = rss(pid);

            const uri = "file:///soak/typing.ts";
            await client.open(uri, "");
            let line = 0,
                character = 0,
                offset = 0;
            let answered = 0,
                cancelled = 0,
                failed = 0,
                keystrokes = 0;
            let rssMiddle = 0;
            const pending: Promise<void>[] = [];
            let previous: CancellationTokenSource | undefined;
            const started = Date.now();
            while (Date.now() - started < SECONDS * 1000) {
                const ch = SOURCE[offset++ % SOURCE.length]!;
                previous?.cancel(); // the next keystroke cancels the request still running
                await client.edit(uri, { start: { line, character }, end: { line, character } }, ch);
                if (ch === "\n") {
                    line++;
                    character = 0;
                } else character++;
                keystrokes++;
                const token = new CancellationTokenSource();
                previous = token;
                pending.push(
                    client.complete(uri, { line, character }, token, InlineCompletionTriggerKind.Automatic).then(
                        (r) => {
                            if (r === null) cancelled++;
                            else answered++;
                        },
                        (e: { code?: number }) => {
                            if (e?.code === -32800) cancelled++;
                            else failed++;
                        }
                    )
                );
                if (!rssMiddle && Date.now() - started >= (SECONDS * 1000) / 2) rssMiddle = rss(pid);
                await new Promise((r) => setTimeout(r, KEYSTROKE_MS));
            }
            await Promise.all(pending);
            const rssEnd = rss(pid);
            await client.close(uri); // other open files are context: the probes must see the same ones
            const after = await probe("after");

            t.diagnostic(
                `soak: ${SECONDS} s, ${keystrokes} keystrokes, ${pending.length} completion requests: ${answered} answered, ${cancelled} cancelled, ${failed} failed`
            );
            t.diagnostic(`soak: server RSS start ${mib(rssStart)}, middle ${mib(rssMiddle)}, end ${mib(rssEnd)}`);
            t.diagnostic(
                `soak: fixed completion median before ${before.median.toFixed(1)} ms, after ${after.median.toFixed(1)} ms`
            );
            assert.equal(failed, 0, "every request ends in an answer or a cancellation");
            assert.equal(answered + cancelled, pending.length);
            assert.ok(answered > 0 && cancelled > 0, "both answers and cancellations happened");
            assert.ok(
                rssEnd <= rssMiddle * 1.15 + 32 * 2 ** 20,
                `memory grew over the second half: ${mib(rssMiddle)} → ${mib(rssEnd)}`
            );
            assert.deepEqual(after.texts, before.texts, "the same completions after the soak");
        } finally {
            await client.stop();
        }
    });
});
