/**
 * The workspace index on a 10,000-file workspace, through the real server over LSP: the first
 * pass (time, the server's memory, the store's size on disk), a restart (what it reads again),
 * a restart after ten files changed, and search latency.
 *
 *   npm run bench:index [-- --files N]
 *
 * The workspace is made from the JavaScript and TypeScript sources of this checkout's
 * node_modules (real code of real packages), copied under .cache/bench-index/workspace.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
    cpSync,
    existsSync,
    mkdirSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    utimesSync,
    writeFileSync
} from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { IndexStatusRequest, WorkspaceSearchRequest, type IndexStatus } from "../server/protocol";
import { ROOT, TEST_MODELS, TestClient } from "../test/server/lspClient";
import { percentile } from "./stats";

const { values } = parseArgs({ options: { files: { type: "string" } } });
const wanted = Number(values.files ?? 10_000);
const base = path.join(ROOT, ".cache", "bench-index");
const workspace = path.join(base, "workspace");
const store = path.join(base, "store");

function sources(dir: string, out: string[]) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            if (entry.name !== ".bin" && entry.name !== ".cache") sources(full, out);
        } else if (
            /\.(m?js|cjs|ts|tsx)$/.test(entry.name) &&
            !entry.name.endsWith(".d.ts") &&
            !entry.name.endsWith(".min.js")
        )
            out.push(full);
    }
}

function makeWorkspace(): number {
    const mark = path.join(base, `workspace-${wanted}.done`);
    if (existsSync(mark)) return wanted;
    rmSync(workspace, { recursive: true, force: true });
    const all: string[] = [];
    sources(path.join(ROOT, "node_modules"), all);
    // Spread over packages by a hash of the path, the same every run.
    const picked = all
        .filter((f) => statSync(f).size <= 512 * 1024)
        .map((f) => ({ f, h: createHash("sha1").update(path.relative(ROOT, f)).digest("hex") }))
        .sort((a, b) => a.h.localeCompare(b.h))
        .slice(0, wanted);
    for (const { f } of picked) {
        const relative = path
            .relative(path.join(ROOT, "node_modules"), f)
            .split(path.sep)
            .join("/")
            .replace(/\/node_modules\//g, "/deps/");
        const target = path.join(workspace, "pkgs", relative);
        mkdirSync(path.dirname(target), { recursive: true });
        cpSync(f, target);
    }
    writeFileSync(mark, "");
    return picked.length;
}

function memoryMiB(pid: number): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

const diskMiB = (dir: string) => Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]) / 1024;

async function run(
    label: string
): Promise<{ status: IndexStatus; wallMs: number; memory: { rss: number; peak: number }; client: TestClient }> {
    const started = performance.now();
    // The small random test model: the engine's load is not what this measures.
    const client = await TestClient.start(
        { storagePath: store, settings: { modelPath: TEST_MODELS.moe } },
        undefined,
        {},
        [workspace]
    );
    let status: IndexStatus;
    for (;;) {
        status = await client.connection.sendRequest(IndexStatusRequest.type);
        if (status.state === "ready" || status.state === "error") break;
        await new Promise((r) => setTimeout(r, 100));
    }
    const wallMs = performance.now() - started;
    const memory = memoryMiB(client.process.pid!);
    console.log(
        `${label}: ${status.files} files (${status.filesRead} read), ${status.chunks} chunks, ${(status.textChars / 2 ** 20).toFixed(1)} MiB of text; ` +
            `pass ${((status.passMs ?? 0) / 1000).toFixed(1)} s, ready after ${(wallMs / 1000).toFixed(1)} s; server RSS ${memory.rss.toFixed(0)} MiB (peak ${memory.peak.toFixed(0)})` +
            (status.note ? `; ${status.note}` : "")
    );
    return { status, wallMs, memory, client };
}

const files = makeWorkspace();
rmSync(store, { recursive: true, force: true });
console.log(`workspace: ${files} files, ${diskMiB(workspace).toFixed(0)} MiB, under ${path.relative(ROOT, workspace)}`);

const first = await run("first pass");
const queries =
    first.status.chunks > 0
        ? [
              "parse options",
              "createServer listen port",
              "deep clone object",
              "escape html",
              "read file sync",
              "promise all settled",
              "event emitter once",
              "utf8 decode buffer"
          ]
        : [];
const searchMs: number[] = [];
for (let round = 0; round < 5; round++)
    for (const query of queries) {
        const t0 = performance.now();
        await first.client.connection.sendRequest(WorkspaceSearchRequest.type, { query, limit: 8 });
        searchMs.push(performance.now() - t0);
    }
await first.client.stop();
const storeMiB = diskMiB(store);
console.log(
    `store on disk: ${storeMiB.toFixed(1)} MiB; search p50 ${percentile(searchMs, 50).toFixed(1)} ms, p95 ${percentile(searchMs, 95).toFixed(1)} ms (n=${searchMs.length})`
);

const restart = await run("restart");
await restart.client.stop();

// Ten files touched while the editor was closed: only they are read again.
const all: string[] = [];
sources(workspace, all);
const now = new Date();
for (const f of all.sort().slice(0, 10)) utimesSync(f, now, now);
const touched = await run("restart, 10 files changed");
await touched.client.stop();

const table = [
    "| run | files read | pass | ready after | server RSS | peak RSS |",
    "|---|---|---|---|---|---|",
    ...[
        ["first pass", first],
        ["restart", restart],
        ["restart, 10 files changed", touched]
    ].map(
        ([label, r]) =>
            `| ${label as string} | ${(r as typeof first).status.filesRead} | ${(((r as typeof first).status.passMs ?? 0) / 1000).toFixed(1)} s | ${((r as typeof first).wallMs / 1000).toFixed(1)} s | ${(r as typeof first).memory.rss.toFixed(0)} MiB | ${(r as typeof first).memory.peak.toFixed(0)} MiB |`
    )
];
const report = [
    "# The workspace index on a 10,000-file workspace",
    "",
    `Made by \`npm run bench:index\` on ${new Date().toISOString().slice(0, 10)}: ${files} JavaScript/TypeScript files (${diskMiB(workspace).toFixed(0)} MiB) from this checkout's node_modules, through the real server over LSP (stdio), 2 cores. The server also loads the small random test model meanwhile.`,
    "",
    `${first.status.files} files indexed into ${first.status.chunks} chunks (${(first.status.textChars / 2 ** 20).toFixed(1)} MiB of text). Store on disk (LevelDB): ${storeMiB.toFixed(1)} MiB. Search: p50 ${percentile(searchMs, 50).toFixed(1)} ms, p95 ${percentile(searchMs, 95).toFixed(1)} ms.`,
    "",
    ...table,
    ""
].join("\n");
writeFileSync(path.join(ROOT, "docs", "bench-index.md"), report);
console.log(table.join("\n"));
console.log("written: docs/bench-index.md");
