/**
 * Model downloads through the real server, from a hub on 127.0.0.1 that serves GGUFs the way
 * huggingface.co does (fixtures/hubServer.ts: redirects, ranges, split files), reached with
 * node-llama-cpp's real downloader through `moePilot.models.huggingFaceEndpoint`: progress, cancel,
 * resume, a short or corrupt file, a full disk (a small tmpfs), a read-only model directory.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
    CancellationTokenSource,
    LSPErrorCodes,
    ResponseError,
    WorkDoneProgress,
    type WorkDoneProgressReport
} from "vscode-languageserver-protocol/node";
import { llamaTool } from "../../native/llamaTools";
import {
    type DownloadParams,
    DownloadModelRequest,
    type DownloadResult,
    InspectModelRequest,
    ModelListRequest
} from "../../server/protocol";
import { HubServer } from "./fixtures/hubServer";
import { ROOT, TestClient } from "./lspClient";

const EMBEDDED = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");
const work = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-download-"));
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** A folder on a tmpfs of `size` (root only): a real full disk or read-only folder. Undefined when mounting is not allowed. */
function tmpfs(name: string, size: string, readOnly = false): string | undefined {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    try {
        execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}${readOnly ? ",ro" : ""}`, "tmpfs", dir], {
            stdio: "ignore"
        });
        mounts.push(dir);
        return dir;
    } catch {
        return undefined;
    }
}
const mounts: string[] = [];
const canMount = process.platform === "linux" && process.getuid?.() === 0;

describe("model downloads", () => {
    let hub: HubServer;
    let client: TestClient;
    let sources: { short: string; corrupt: string; split: string[] };
    const progress: WorkDoneProgressReport[] = [];
    let tokens = 0;

    /** Sets the model directory (and the hub as the mirror), then downloads; `onReport` sees each progress report. */
    async function download(
        params: DownloadParams,
        directory: string,
        options: { cancel?: CancellationTokenSource; onReport?: (r: WorkDoneProgressReport) => void } = {}
    ): Promise<DownloadResult> {
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { models: { directory, huggingFaceEndpoint: hub.endpoint } } }
        });
        const workDoneToken = `download-${++tokens}`;
        const subscription = client.connection.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
            if (value.kind === "report") {
                progress.push(value);
                options.onReport?.(value);
            }
        });
        try {
            return await client.connection.sendRequest(
                DownloadModelRequest.type,
                { ...params, workDoneToken },
                options.cancel?.token
            );
        } finally {
            subscription.dispose();
        }
    }
    const failure = async (p: Promise<unknown>): Promise<ResponseError<{ problem: string }>> => {
        const e = await p.then(
            () => undefined,
            (err: unknown) => err
        );
        assert.ok(e instanceof ResponseError, `expected an error, got ${JSON.stringify(e)}`);
        return e as ResponseError<{ problem: string }>;
    };
    const files = (dir: string) =>
        readdirSync(dir, { recursive: true })
            .map(String)
            .filter((f) => statSync(path.join(dir, f)).isFile())
            .sort();

    before(async () => {
        const short = path.join(work, "short.gguf");
        writeFileSync(short, readFileSync(EMBEDDED).subarray(0, 3_000_000));
        const corrupt = path.join(work, "corrupt.gguf");
        const bytes = readFileSync(EMBEDDED);
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
        writeFileSync(corrupt, bytes);
        // A split model as llama.cpp's gguf-split writes it, as the hub serves large models.
        execFileSync(
            llamaTool("llama-gguf-split", () => {}),
            ["--split", "--split-max-size", "4M", EMBEDDED, path.join(work, "demo")],
            { stdio: "ignore" }
        );
        sources = {
            short,
            corrupt,
            split: readdirSync(work)
                .filter((f) => /^demo-\d{5}-of-\d{5}\.gguf$/.test(f))
                .sort()
                .map((f) => path.join(work, f))
        };
        assert.ok(sources.split.length >= 2, "the model was split");
        hub = await HubServer.start([
            { user: "moe-pilot", repo: "demo-GGUF", name: "moe-pilot-demo.gguf", source: EMBEDDED },
            { user: "moe-pilot", repo: "demo-GGUF", name: "short.gguf", source: short },
            { user: "moe-pilot", repo: "demo-GGUF", name: "corrupt.gguf", source: corrupt },
            ...sources.split.map((s) => ({ user: "moe-pilot", repo: "split-GGUF", name: path.basename(s), source: s }))
        ]);
        client = await TestClient.start({ settings: { completion: { debounceMs: 0 } } });
        assert.equal((await client.settled()).state, "ready");
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
        await hub?.close();
        for (const m of mounts)
            try {
                execFileSync("umount", [m]);
            } catch {
                /* already gone */
            }
        rmSync(work, { recursive: true, force: true });
    });

    test("the registry lists the recommended MoE models with what fits this machine; nothing is fetched", async () => {
        const list = await client.connection.sendRequest(ModelListRequest.type);
        const names = list.models.map((m) => m.name).join(", ");
        for (const name of [
            "Qwen3-Coder-30B-A3B-Instruct",
            "gpt-oss-20b",
            "DeepSeek-Coder-V2-Lite-Base",
            "DeepSeek-Coder-V2-Lite-Instruct",
            "OLMoE-1B-7B-0924-Instruct",
            "Granite"
        ])
            assert.ok(names.includes(name), `${name} in ${names}`);
        for (const m of list.models) {
            assert.match(m.uri, /^hf:[^/]+\/[^/]+\/.+\.gguf$/);
            assert.ok(
                m.fileBytes > 1e9 && m.ramBytes > m.fileBytes && m.experts.trainedK < m.experts.expertCount,
                m.id
            );
            assert.ok(["fits", "expert-cache", "too-large"].includes(m.fit.verdict) && m.fit.reason.length > 0);
        }
        assert.equal(list.models.find((m) => m.id === "gpt-oss-20b")!.fim, null, "chat only");
        assert.ok(list.machine.totalMemoryBytes > 0 && list.machine.availableMemoryBytes > 0);
        assert.equal(hub.requests.length, 0, "listing does not touch the network");
    });

    test("a download follows the hub's redirect, reports bytes, speed and time left, and lands whole and checked", async () => {
        const dir = path.join(work, "models");
        hub.bytesPerSecond = 8 * 2 ** 20;
        progress.length = 0;
        const result = await download(
            { uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf", sha256: sha(EMBEDDED) },
            dir
        );
        assert.equal(result.verified, "sha256");
        assert.equal(result.alreadyPresent, false);
        assert.equal(result.resumedBytes, 0, "a first download resumes nothing");
        assert.equal(sha(result.path), sha(EMBEDDED));
        assert.deepEqual(files(dir), [path.basename(result.path)], "nothing but the model is left in the directory");
        assert.ok(
            hub.requests.some((r) => r.includes("/resolve/main/moe-pilot-demo.gguf")) &&
                hub.requests.some((r) => r.startsWith("GET /cdn/"))
        );
        assert.ok(progress.length >= 2, `progress reports: ${progress.length}`);
        assert.match(progress.at(-1)!.message!, /^7\.1 MiB of 7\.1 MiB/);
        assert.ok(
            progress.some((p) => /MiB\/s/.test(p.message ?? "")),
            progress.map((p) => p.message).join(" | ")
        );
        assert.equal(progress.at(-1)!.percentage, 100);

        const inspected = await client.connection.sendRequest(InspectModelRequest.type, { path: result.path });
        assert.equal(inspected.isMoe, true);
        const again = await download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, dir);
        assert.equal(again.alreadyPresent, true, "a second request finds the finished file");
    });

    test("cancel keeps the partial file out of the directory; the next download resumes it", async () => {
        const dir = path.join(work, "resume");
        hub.bytesPerSecond = 1.5 * 2 ** 20;
        const cancel = new CancellationTokenSource();
        let cancelled = false;
        const e = await failure(
            download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, dir, {
                cancel,
                onReport: (r) => {
                    if (!cancelled && (r.percentage ?? 0) >= 75) {
                        cancelled = true;
                        cancel.cancel();
                    }
                }
            })
        );
        assert.equal(e.code, LSPErrorCodes.RequestCancelled);
        assert.match(e.message, /cancelled.*resumes/);
        assert.deepEqual(
            files(dir).filter((f) => !f.startsWith(".partial")),
            [],
            "no partial file where models are loaded from"
        );

        hub.bytesPerSecond = Infinity;
        const before = hub.requests.length;
        const result = await download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, dir);
        assert.ok(result.resumedBytes >= 2 * 2 ** 20, `resumed from ${result.resumedBytes} bytes`);
        const ranges = hub.requests.slice(before).filter((r) => r.startsWith("GET /cdn/"));
        const data = ranges.filter((r) => /bytes=/.test(r)); // ipull's first, unranged request only learns the size
        assert.ok(
            data.length > 0 && data.length < ranges.length - 1 + 2 && !data.some((r) => /bytes=5242880-/.test(r)),
            `only the missing part was fetched: ${ranges.join(", ")}`
        );
        assert.equal(sha(result.path), sha(EMBEDDED));
        assert.deepEqual(files(dir), [path.basename(result.path)]);
    });

    test("a server killed mid-download: the next server resumes the partial file", async () => {
        const dir = path.join(work, "killed");
        hub.bytesPerSecond = 1.5 * 2 ** 20;
        const doomed = await TestClient.start({
            settings: { models: { directory: dir, huggingFaceEndpoint: hub.endpoint } }
        });
        await doomed.settled();
        const token = "doomed-download";
        const halfway = new Promise<void>((resolve) =>
            doomed.connection.onProgress(WorkDoneProgress.type, token, (v) => {
                if (v.kind === "report" && (v.percentage ?? 0) >= 75) resolve();
            })
        );
        const request = doomed.connection
            .sendRequest(DownloadModelRequest.type, {
                uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf",
                workDoneToken: token
            })
            .catch(() => "gone");
        await halfway;
        doomed.kill();
        assert.equal(await request, "gone");
        assert.deepEqual(
            files(dir).filter((f) => !f.startsWith(".partial")),
            [],
            "nothing half-written where models load from"
        );

        hub.bytesPerSecond = Infinity;
        const result = await download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, dir);
        assert.ok(result.resumedBytes >= 2 * 2 ** 20, `resumed from ${result.resumedBytes} bytes`);
        assert.equal(sha(result.path), sha(EMBEDDED));
    });

    test("a corrupt file (wrong checksum) and a short file (not a whole GGUF) are refused and deleted", async () => {
        const dir = path.join(work, "bad");
        hub.bytesPerSecond = Infinity;
        const corrupt = await failure(
            download({ uri: "hf:moe-pilot/demo-GGUF/corrupt.gguf", sha256: sha(EMBEDDED) }, dir)
        );
        assert.equal(corrupt.data?.problem, "checksum");
        assert.match(corrupt.message, /damaged: its SHA-256 is .*deleted/);
        const short = await failure(download({ uri: "hf:moe-pilot/demo-GGUF/short.gguf" }, dir));
        assert.equal(short.data?.problem, "not-a-model");
        assert.match(short.message, /incomplete/);
        assert.deepEqual(files(dir), [], "nothing half-written is left behind");
    });

    test("a split GGUF downloads every part and loads", async () => {
        const dir = path.join(work, "split");
        const first = path.basename(sources.split[0]!);
        const result = await download({ uri: `hf:moe-pilot/split-GGUF/${first}` }, dir);
        // node-llama-cpp names hf: downloads hf_<user>_<repo>_<file>.
        assert.equal(result.files.length, sources.split.length);
        result.files.forEach((f, i) => assert.ok(f.endsWith(path.basename(sources.split[i]!)), f));
        assert.ok(result.path.endsWith(first));
        const card = await client.connection.sendRequest(InspectModelRequest.type, { path: result.path });
        assert.equal(card.parts, sources.split.length);
        assert.equal(card.expertCount, 8);
        const seen = client.status.all.length;
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { modelPath: result.path } }
        });
        const status = await client.status.next(
            (s) => (s.state === "ready" || s.state === "error") && client.status.all.indexOf(s) >= seen,
            "the split model to load"
        );
        assert.equal(status.state, "ready", status.message);
        await client.open("file:///w/split.py", "def add(a, b):\n    ");
        assert.ok(
            await client.complete("file:///w/split.py", { line: 1, character: 4 }),
            "completes on the split model"
        );
    });

    test(
        "not enough disk: refused before fetching; the disk filling up mid-way: a clear message and no partial file",
        { skip: !canMount && "needs root to mount a small tmpfs" },
        async () => {
            const tiny = tmpfs("tiny", "4m");
            assert.ok(tiny, "mounted");
            const before = hub.requests.length;
            const refused = await failure(download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, tiny));
            assert.equal(refused.data?.problem, "disk-full");
            assert.match(refused.message, /Not enough free disk space .* needs 7\.1 MiB/);
            assert.ok(
                hub.requests.slice(before).every((r) => !/^GET \/cdn\/.* bytes=/.test(r)),
                "no data was fetched"
            );

            const small = tmpfs("small", "10m")!;
            hub.bytesPerSecond = 2 * 2 ** 20;
            let filled = false;
            const full = await failure(
                download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, small, {
                    // Something else takes the space while the download runs.
                    onReport: () => {
                        if (!filled) {
                            filled = true;
                            try {
                                writeFileSync(path.join(small, "other-program.bin"), Buffer.alloc(6 * 2 ** 20));
                            } catch {
                                /* full already */
                            }
                        }
                    }
                })
            );
            assert.equal(full.data?.problem, "disk-full", full.message);
            assert.match(full.message, /disk filled up .* partial file was removed/);
            assert.deepEqual(files(small), ["other-program.bin"]);
        }
    );

    test(
        "a read-only model directory: a clear message",
        { skip: !canMount && "needs root to mount a read-only tmpfs" },
        async () => {
            const ro = tmpfs("readonly", "1m", true)!;
            const e = await failure(
                download({ uri: "hf:moe-pilot/demo-GGUF/moe-pilot-demo.gguf" }, path.join(ro, "models"))
            );
            assert.equal(e.data?.problem, "read-only");
            assert.match(e.message, /cannot be written .*moePilot\.models\.directory/);
        }
    );

    test("an unknown registry id and a bad URI are refused", async () => {
        assert.match((await failure(download({ id: "no-such-model" }, work))).message, /No model "no-such-model"/);
        assert.match((await failure(download({ uri: "ftp://example.com/x.gguf" }, work))).message, /hf: or http/);
    });
});
