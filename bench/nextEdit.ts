/**
 * Next-edit suggestions, measured on files the demo model never trained on (the corpus's held-out
 * split), each with one edit made the way training makes them (pipeline/train/next_edits.py): a
 * rename at a declaration, a parameter added to a function, the same fix as elsewhere, a key added
 * to an object literal.
 *
 *   npm run bench:nextedit [-- --cases N] [--model PATH] [--no-remote]
 *
 * Each case, over LSP (stdio) as an editor drives it: the file is opened, the edit is typed (one
 * `didChange`, the changed characters only), and `moePilot/nextEdit` is asked at the cursor.
 * Conditions: the demo model on the local engine; the same file through the remote engine with a
 * real llama-server (built from the bundled llama.cpp); and the demo model before its next-edit
 * stage (stage three, from git history), which shows what that stage added.
 *
 * Figures, per kind and over all: exact match (the proposal, applied, gives the file with one of
 * the lines the edit calls for changed as it should be; location and text), edit similarity of the
 * proposed line against the expected one where the proposal is at such a line (0 elsewhere), how
 * often nothing was proposed, proposals that would add a syntax error (the server drops those:
 * this must be 0), time to proposal p50/p95. Writes docs/bench-nextedit.md.
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { EMBEDDED_MODEL_FILE } from "../server/models/embeddedModel";
import { applyEdit, changedSpan } from "../server/nextEdit/candidates";
import { type NextEditItem, NextEditRequest, type Settings } from "../server/protocol";
import { Chunker } from "../server/workspace/chunker";
import { startLlamaServer, stopProcess } from "../test/server/llamaServer";
import { ROOT, TestClient } from "../test/server/lspClient";
import { type Case, edited, fileOf, judge, loadCases, parsable } from "./nextEditCases";
import { percentile } from "./stats";

const { values } = parseArgs({
    options: { cases: { type: "string" }, model: { type: "string" }, "no-remote": { type: "boolean" } }
});
const PER_KIND = Number(values.cases ?? 25);
const modelPath = values.model ?? path.join(ROOT, EMBEDDED_MODEL_FILE);
/** The last commit whose demo model is stage three's (before the next-edit stage). */
const STAGE_THREE = "666b1ba";
const FOLDER = "/nextedit-bench";

/** The edit as a user types it: the characters that differ, and the cursor after them. */
function typed(c: Case) {
    const { before, after, line } = c.edit;
    const span = changedSpan(before, after);
    const text = after.slice(span.start, span.newEnd);
    return {
        range: { start: { line, character: span.start }, end: { line, character: span.oldEnd } },
        text,
        cursor: { line, character: span.start + text.length }
    };
}

type Outcome = {
    kind: Case["kind"];
    ms: number;
    proposed: boolean;
    exact: boolean;
    similarity: number;
    breaks: boolean;
};

async function run(name: string, settings: object, cases: Case[]): Promise<Outcome[]> {
    const client = await TestClient.start({ settings: { workspace: { index: false }, ...settings } }, undefined, {}, [
        FOLDER
    ]);
    const status = await client.settled();
    if (status.state !== "ready") throw new Error(`${name}: ${status.message ?? "the model did not load"}`);
    const chunker = new Chunker();
    const outcomes: Outcome[] = [];
    for (const [i, c] of cases.entries()) {
        const uri = `file://${FOLDER}/${fileOf(c)}`;
        await client.open(uri, c.lines.join("\n"), c.language);
        const edit = typed(c);
        await client.edit(uri, edit.range, edit.text);
        const started = performance.now();
        const { items } = await client.connection.sendRequest(NextEditRequest.type, {
            textDocument: { uri },
            position: edit.cursor
        });
        const ms = performance.now() - started;
        await client.close(uri);
        const now = edited(c);
        const item: NextEditItem | undefined = items[0];
        const outcome: Outcome = { kind: c.kind, ms, proposed: !!item, ...judge(c, item), breaks: false };
        if (item) {
            const result = applyEdit(now, item);
            const file = fileOf(c);
            const base = (await chunker.syntaxErrors(file, now.join("\n"))) ?? 0;
            outcome.breaks = ((await chunker.syntaxErrors(file, result.join("\n"))) ?? 0) > base;
        }
        outcomes.push(outcome);
        if ((i + 1) % 20 === 0) console.log(`  ${name}: ${i + 1}/${cases.length}`);
    }
    await client.stop();
    return outcomes;
}

type Figures = { cases: number; em: number; es: number; none: number; breaks: number; p50: number; p95: number };

function figures(outcomes: Outcome[]): Figures {
    const n = Math.max(1, outcomes.length);
    const times = outcomes.map((o) => o.ms);
    return {
        cases: outcomes.length,
        em: outcomes.filter((o) => o.exact).length / n,
        es: outcomes.reduce((s, o) => s + o.similarity, 0) / n,
        none: outcomes.filter((o) => !o.proposed).length / n,
        breaks: outcomes.filter((o) => o.breaks).length,
        p50: percentile(times, 50),
        p95: percentile(times, 95)
    };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const heldout = path.join(ROOT, ".cache", "corpus", "heldout.jsonl");
if (!existsSync(heldout))
    execFileSync("npx", ["tsx", "pipeline/corpus/collect.ts", ".cache/corpus"], { cwd: ROOT, stdio: "inherit" });
const all = await parsable(loadCases(heldout, PER_KIND));
const kinds = ["rename", "parameter", "fix", "key"] as const;
console.log(`${all.length} cases (${kinds.map((k) => `${all.filter((c) => c.kind === k).length} ${k}`).join(", ")})`);

const local: Partial<Settings> = { modelPath, nextEdit: { enabled: true, format: "auto", timeBudgetMs: 800 } };
const conditions: { name: string; outcomes: Outcome[] }[] = [];
conditions.push({ name: "demo model, local engine", outcomes: await run("local", local, all) });

if (!values["no-remote"]) {
    const llama = await startLlamaServer([], modelPath);
    try {
        const remote = { remote: { endpoint: llama.url, kind: "llama-server" }, nextEdit: local.nextEdit };
        conditions.push({
            name: "demo model, remote engine (llama-server)",
            outcomes: await run("remote", remote, all)
        });
    } finally {
        await stopProcess(llama.process);
    }
}

// What the model did before its next-edit stage: stage three's file, from git history (not for another --model).
if (values.model === undefined) {
    const stageThree = path.join(ROOT, ".cache", "stage3.gguf");
    if (!existsSync(stageThree))
        writeFileSync(
            stageThree,
            execFileSync("git", ["show", `${STAGE_THREE}:models/embedded/moe-pilot-demo.gguf`], {
                cwd: ROOT,
                maxBuffer: 1 << 30
            })
        );
    conditions.push({
        name: "before the next-edit stage (stage three), local",
        outcomes: await run("stage three", { ...local, modelPath: stageThree }, all)
    });
}

const rows: string[] = [];
for (const c of conditions) {
    const byKind = kinds.map((k) => figures(c.outcomes.filter((o) => o.kind === k)));
    const total = figures(c.outcomes);
    rows.push(
        `| ${c.name} | ${byKind.map((f) => `${pct(f.em)} (${f.cases})`).join(" | ")} | ${pct(total.em)} | ${pct(total.es)} | ${pct(total.none)} | ${total.breaks} | ${total.p50.toFixed(0)} ms | ${total.p95.toFixed(0)} ms |`
    );
    console.log(
        `${c.name}: EM ${kinds.map((k, i) => `${k} ${pct(byKind[i]!.em)}`).join(", ")}; all ${pct(total.em)}, ES ${pct(total.es)}, ` +
            `nothing proposed ${pct(total.none)}, syntax-breaking ${total.breaks}, p50 ${total.p50.toFixed(0)} ms, p95 ${total.p95.toFixed(0)} ms`
    );
}
const main = figures(conditions[0]!.outcomes);
const rename = figures(conditions[0]!.outcomes.filter((o) => o.kind === "rename"));
const summary = `nextedit EM rename ${pct(rename.em)}  all ${pct(main.em)}  ES ${pct(main.es)}  none ${pct(main.none)}  p50 ${main.p50.toFixed(0)} ms  p95 ${main.p95.toFixed(0)} ms  breaks ${main.breaks}`;

const report = `# bench:nextedit

\`npm run bench:nextedit\` (bench/nextEdit.ts), ${new Date().toISOString().slice(0, 10)}: ${all.length} cases from the corpus's held-out files
(no training stage saw them), an edit each, made as training makes them (pipeline/train/next_edits.py), typed
over LSP as one \`didChange\`; then \`moePilot/nextEdit\` at the cursor. Exact match: the proposal, applied,
gives the file with one of the lines the edit calls for changed as it should be (location and text).
ES: the proposed line against the expected one, where the proposal is at such a line (0 elsewhere).
Syntax-breaking: proposals a parser finds a new error in (the server drops those before answering).

| condition | EM rename | EM parameter | EM fix | EM key | EM all | ES | nothing proposed | syntax-breaking | p50 | p95 |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

Summary: \`${summary}\`
`;
writeFileSync(path.join(ROOT, "docs", "bench-nextedit.md"), report);
console.log("written: docs/bench-nextedit.md");
console.log(summary);
