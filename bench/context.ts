/**
 * Repository context, measured the way CrossCodeEval builds its cases: in projects the demo model
 * never trained on (whole packages absent from pipeline/corpus/sources.json), a line is cut right
 * before a reference to a name that another file of the project defines (after the object or the
 * call; `isReference`), the defining file is not open, and the completion must write the rest of
 * the line.
 *
 *   npm run bench:context [-- --cases N] [--model PATH] [--today PATH] [--only NAME,…] [--show]
 *
 * (`--only` runs the named conditions, without the summary, and with `none` among them the
 * retrieval line; `--show` prints each case's cut line, the expected rest and the completion.)
 *
 * Conditions, each a fresh server over LSP (stdio) on the same workspace folder and index:
 *   today         the model before the last retrain (from git history) with the heads of two
 *                 other open files: what a user had before repository context
 *   none          no extra context
 *   open heads    this model with the heads of two other open files (no index)
 *   index         repository context from the workspace index (definitions by name, similar code)
 *   index + defs  the same, with definitions answered the way an editor's definition provider
 *                 would (the bench resolves the name to its declaration, as go-to-definition does)
 *   + members     the same, and after `object.` the completion starts with a member of the
 *                 object's type (workspace.members, server/completion/memberAccess.ts)
 *   + repetition  the same, with the repetition prior (completion.repetitionPrior, its default:
 *                 server/completion/repetitionPrior.ts): what a user has now
 *   heads + rep.  open heads with the repetition prior, no index: what repository context adds to the prior
 * (up to + repetition, each condition adds one thing to the one above it, with what comes below off.)
 *
 * Figures: exact match (EM) and edit similarity (ES) of the line; recall@5 of the defining chunk
 * (BM25 over the 8 lines above the cursor, and what the completion's context held); time to
 * completion p50/p95; prompt tokens evaluated per keystroke (typing the expected text after the
 * first request). Writes docs/bench-context.md and docs/bench-context.svg.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DefinitionsRequest, IndexStatusRequest, WorkspaceSearchRequest } from "../server/protocol";
import { EMBEDDED_MODEL_FILE } from "../server/models/embeddedModel";
import { Chunker } from "../server/workspace/chunker";
import { ROOT, TestClient } from "../test/server/lspClient";
import { editSimilarity, percentile } from "./stats";

const { values } = parseArgs({
    options: {
        cases: { type: "string" },
        model: { type: "string" },
        today: { type: "string" },
        only: { type: "string" },
        show: { type: "boolean" }
    }
});
const CASES_PER_PROJECT = Number(values.cases ?? 40);
const modelPath = values.model ?? path.join(ROOT, EMBEDDED_MODEL_FILE);
const KEYSTROKE_CASES = 12;

/** Packages of this checkout's node_modules that the corpus does not contain, and the folders with their code. */
const PROJECTS = [
    { name: "semver", dirs: ["classes", "functions", "internal", "ranges"], ext: ".js" },
    { name: "ajv", dirs: ["lib"], ext: ".ts" },
    { name: "vscode-jsonrpc", dirs: ["lib/common"], ext: ".js" }
];

const sources = JSON.parse(readFileSync(path.join(ROOT, "pipeline", "corpus", "sources.json"), "utf8")) as {
    npm: { package: string }[];
};
for (const p of PROJECTS)
    if (sources.npm.some((s) => s.package === p.name)) throw new Error(`${p.name} is in the training corpus`);

type Definition = { file: string; startLine: number; endLine: number; name: string };
type Case = {
    project: string;
    file: string;
    line: number;
    character: number;
    expected: string;
    /** The whole line the case is cut from. */
    lineText: string;
    definition: Definition;
};

const base = path.join(ROOT, ".cache", "bench-context");

function listFiles(dir: string, ext: string, out: string[] = []): string[] {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) listFiles(full, ext, out);
        else if (entry.name.endsWith(ext) && !entry.name.endsWith(".d.ts")) out.push(full);
    }
    return out.sort();
}

const IDENTIFIER = /[A-Za-z_$][\w$]*/g;
/** Import statements, multi-line ones included: `import … from "m"`, `export … from "m"`, `require` lines. */
const IMPORT_STATEMENT =
    /^[ \t]*(?:import\b[^;'"]*?(['"])[^'"\n]*\1|export\s*(?:\*|\{[^}]*\})\s*from\s*(['"])[^'"\n]*\2|(?:const|let|var)\s[^\n]*\brequire\([^\n]*)/gm;
const IMPORT_WORDS = new Set(["import", "from", "type", "require", "as", "export", "const", "let", "var", "typeof"]);
const KEYWORDS = new Set(
    "break case catch class const continue debugger default delete do else export extends finally for function if import in instanceof let new return super switch this throw try typeof var void while with yield async await of".split(
        " "
    )
);

/** The lines of a file's import statements, and the names they bring in (not the module paths). */
function imports(text: string): { lines: Set<number>; names: Set<string> } {
    const lines = new Set<number>(),
        names = new Set<string>();
    for (const m of text.matchAll(IMPORT_STATEMENT)) {
        const first = text.slice(0, m.index).split("\n").length - 1;
        m[0].split("\n").forEach((_, i) => lines.add(first + i));
        for (const name of m[0].replace(/(['"`])[^'"`\n]*\1/g, "").match(IDENTIFIER) ?? [])
            if (!IMPORT_WORDS.has(name)) names.add(name);
    }
    return { lines, names };
}

/**
 * Whether a name at this point of a line refers to another file's definition, as CrossCodeEval's
 * cases do (its static analysis keeps uses of cross-file symbols): in code (not a comment or a
 * string, not an import statement), and a member (`x.name`, not `this.name`, not `...spread`), or,
 * not a keyword, imported by the file or constructed (`new Name`). Not `else` or `return` because
 * ajv's CodeGen has methods of those names, nor a parameter that shares a function's name in
 * another file, nor the class's own field. Training's probe takes the same rule
 * (pipeline/train/finetune_context.py `references`).
 */
function isReference(before: string, name: string, imported: Set<string>): boolean {
    if (before.includes("//") || (before.match(/['"`]/g)?.length ?? 0) % 2) return false;
    if (before.endsWith("...")) return false;
    // `this.x` is the enclosing class's own member (a field set in its constructor), whatever other files define.
    if (before.endsWith(".")) return !/\bthis\.$/.test(before);
    return !KEYWORDS.has(name) && (imported.has(name) || /\bnew $/.test(before));
}

const hash = (s: string) => createHash("sha1").update(s).digest("hex");

/** Copies the project into its own workspace folder and finds the cases, with the bench's own symbol table. */
async function prepare(project: (typeof PROJECTS)[number]) {
    const root = path.join(base, project.name);
    if (!existsSync(root)) {
        for (const dir of project.dirs)
            cpSync(path.join(ROOT, "node_modules", project.name, dir), path.join(root, dir), { recursive: true });
    }
    const files = listFiles(root, project.ext);
    const chunker = new Chunker();
    const defs = new Map<string, Definition[]>();
    const texts = new Map<string, string>();
    for (const file of files) {
        const text = readFileSync(file, "utf8").replace(/\r\n/g, "\n");
        texts.set(file, text);
        for (const chunk of await chunker.chunk(file, text))
            for (const symbol of chunk.symbols) {
                const name = symbol.split(".").pop()!;
                if (name.length < 4) continue;
                const list = defs.get(name) ?? [];
                list.push({ file, startLine: chunk.startLine, endLine: chunk.endLine, name });
                defs.set(name, list);
            }
    }
    const cases: Case[] = [];
    for (const file of files) {
        const text = texts.get(file)!;
        const lines = text.split("\n");
        const own = new Set(
            (await chunker.chunk(file, text)).flatMap((c) => c.symbols.map((s) => s.split(".").pop()!))
        );
        const imported = imports(text);
        lines.forEach((line, i) => {
            if (i < 3 || imported.lines.has(i) || /^\s*(\/\/|\*|\/\*)/.test(line)) return;
            for (const m of line.matchAll(IDENTIFIER)) {
                const name = m[0];
                const where = defs.get(name)?.filter((d) => d.file !== file);
                if (!where?.length || own.has(name) || !isReference(line.slice(0, m.index), name, imported.names))
                    continue;
                const expected = line.slice(m.index).trimEnd();
                if (expected.length < name.length + 1) continue;
                cases.push({
                    project: project.name,
                    file,
                    line: i,
                    character: m.index,
                    expected,
                    lineText: line,
                    definition: where[0]!
                });
                break;
            }
        });
    }
    const picked = cases
        .map((c) => ({ c, h: hash(`${path.relative(root, c.file)}:${c.line}`) }))
        .sort((a, b) => a.h.localeCompare(b.h))
        .slice(0, CASES_PER_PROJECT)
        .map((x) => x.c);
    return { root, files, texts, defs, cases: picked };
}

/** What a condition turns on: open files' heads, the index, definitions as an editor answers them, members, the repetition prior; and its model file. */
type Parts = {
    heads?: boolean;
    index?: boolean;
    definitions?: boolean;
    members?: boolean;
    prior?: boolean;
    model?: string;
};
type Condition = { name: string; on: Parts };

/** The last commit before repository context: its model file is "today's". */
const BEFORE_REPOSITORY_CONTEXT = "8254dc5^";

/**
 * "Today" is what a user had before repository context: the model file of that time (from git
 * history), with the heads of open files. Undefined when it is this model (then "open heads" is today).
 */
function previousModel(): string | undefined {
    if (values.today) return path.resolve(values.today);
    if (values.model) return undefined;
    const file = "models/embedded/moe-pilot-demo.gguf";
    const then = execFileSync("git", ["rev-parse", `${BEFORE_REPOSITORY_CONTEXT}:${file}`], {
        cwd: ROOT,
        encoding: "utf8"
    }).trim();
    const now = execFileSync("git", ["hash-object", file], { cwd: ROOT, encoding: "utf8" }).trim();
    if (then === now) return undefined;
    const out = path.join(base, `previous-${then.slice(0, 12)}.gguf`);
    if (!existsSync(out)) {
        mkdirSync(base, { recursive: true });
        writeFileSync(out, execFileSync("git", ["cat-file", "blob", then], { cwd: ROOT, maxBuffer: 1 << 30 }));
    }
    return out;
}
const previous = previousModel();

/** A condition's settings: what it turns on, everything else off. */
const settingsOf = (on: Parts) => ({
    modelPath: on.model ?? modelPath,
    completion: {
        debounceMs: 0,
        extraContext: !!on.heads,
        repetitionPrior: on.prior ? ("auto" as const) : ("off" as const)
    },
    workspace: { completionContext: !!on.index, members: !!on.members }
});

const CONDITIONS: Condition[] = [
    ...(previous ? [{ name: "today", on: { heads: true, model: previous } }] : []),
    { name: "none", on: {} },
    { name: "open heads", on: { heads: true } },
    { name: "index", on: { heads: true, index: true } },
    { name: "index + defs", on: { heads: true, index: true, definitions: true } },
    { name: "+ members", on: { heads: true, index: true, definitions: true, members: true } },
    { name: "+ repetition", on: { heads: true, index: true, definitions: true, members: true, prior: true } },
    { name: "heads + rep.", on: { heads: true, prior: true } }
];

type Result = {
    condition: string;
    em: number;
    es: number;
    recallContext: number;
    p50: number;
    p95: number;
    keystrokeTokens: number;
    cases: number;
    /** EM over the cases cut after `object.`, and how many completions started with a member the index knew. */
    memberEm: number;
    constrained: number;
};

/** A case cut right after `object.`: where workspace.members can apply. */
function isMemberAccess(c: Case): boolean {
    return /[\w$)\]]\??\.$/.test(c.lineText.slice(0, c.character));
}

const projects = [];
for (const p of PROJECTS) projects.push(await prepare(p));
const allCases = projects.flatMap((p) => p.cases);
const memberCases = allCases.filter(isMemberAccess).length;
console.log(
    `cases: ${projects.map((p) => `${p.cases.length} in ${path.basename(p.root)} (${p.files.length} files)`).join(", ")}; model ${path.relative(ROOT, modelPath)}`
);

// Recall@5 of the defining chunk, over the 8 lines above the cursor (the server's similarity query).
const recall = { off: 0, routing: 0 };
const retrievalMs: Record<"off" | "routing", number[]> = { off: [], routing: [] };
const results: Result[] = [];
const only = values.only?.split(",");
for (const condition of CONDITIONS.filter((c) => !only || only.includes(c.name))) {
    const times: number[] = [];
    const keystrokes: number[] = [];
    let em = 0,
        es = 0,
        inContext = 0,
        memberEm = 0,
        constrained = 0;
    for (const project of projects) {
        const store = path.join(base, `${path.basename(project.root)}.store`);
        const openTexts = new Map<string, string>();
        const client = await TestClient.start(
            {
                storagePath: store,
                definitions: !!condition.on.definitions,
                settings: settingsOf(condition.on)
            },
            undefined,
            {},
            [project.root]
        );
        if (condition.on.definitions)
            client.connection.onRequest(DefinitionsRequest.type, (params) => {
                // Types need a type checker: the bench answers definitions only, as a plain definition provider would.
                if (params.kind === "typeDefinition") return params.positions.map(() => []);
                const file = new URL(params.textDocument.uri).pathname;
                const text = openTexts.get(file) ?? "";
                const lines = text.split("\n");
                return params.positions.map((pos) => {
                    const line = lines[pos.line] ?? "";
                    const word = [...line.matchAll(/[A-Za-z_$][\w$]*/g)].find(
                        (m) => m.index <= pos.character && pos.character <= m.index + m[0].length
                    )?.[0];
                    const found = word ? (project.defs.get(word) ?? []).filter((d) => d.file !== file) : [];
                    return found.slice(0, 1).map((d) => ({
                        uri: pathToFileURL(d.file).href,
                        range: { start: { line: d.startLine, character: 0 }, end: { line: d.startLine, character: 0 } }
                    }));
                });
            });
        const status = await client.settled();
        if (status.state !== "ready") throw new Error(`the model did not load: ${status.message}`);
        for (let i = 0; i < 600; i++) {
            if ((await client.connection.sendRequest(IndexStatusRequest.type)).state === "ready") break;
            await new Promise((r) => setTimeout(r, 100));
        }
        for (const [n, c] of project.cases.entries()) {
            const text = project.texts.get(c.file)!;
            const lines = text.split("\n");
            const docText = [
                ...lines.slice(0, c.line),
                lines[c.line]!.slice(0, c.character),
                ...lines.slice(c.line + 1)
            ].join("\n");
            // Two other files of the project are open (the defining one never): what "open heads" can use.
            const others = project.files.filter((f) => f !== c.file && f !== c.definition.file);
            const at = others.findIndex((f) => f > c.file);
            const open = [others.at(at - 1), others.at(at)].filter((f): f is string => f !== undefined);
            const uri = pathToFileURL(c.file).href;
            for (const f of open) await client.open(pathToFileURL(f).href, project.texts.get(f)!, langOf(f));
            await client.open(uri, docText, langOf(c.file));
            openTexts.set(c.file, docText);
            if (condition.name === "none") {
                // Retrieval alone: the 8 lines above the cursor as the query, BM25 and BM25 reranked by routing.
                const query = lines.slice(Math.max(0, c.line - 8), c.line).join("\n");
                const defining = (k: { uri: string; startLine: number }) =>
                    k.uri === pathToFileURL(c.definition.file).href && k.startLine === c.definition.startLine;
                for (const rerank of ["off", "routing"] as const) {
                    const t0 = performance.now();
                    const { chunks } = await client.connection.sendRequest(WorkspaceSearchRequest.type, {
                        query,
                        limit: 5,
                        rerank
                    });
                    retrievalMs[rerank].push(performance.now() - t0);
                    if (chunks.some(defining)) recall[rerank]++;
                }
            }
            const logsBefore = client.logs.all.length;
            const t0 = performance.now();
            const list = await client.complete(uri, { line: c.line, character: c.character });
            times.push(performance.now() - t0);
            const got = (list?.items[0]?.insertText as string | undefined)?.split("\n")[0]?.trimEnd() ?? "";
            if (got === c.expected) em++;
            es += editSimilarity(got, c.expected);
            const logged = client.logs.all.slice(logsBefore).map((l) => l.message);
            if (values.show) {
                const members = logged.find((m) => m.includes("completion starts with a member"))?.split(": ")[1];
                console.log(
                    `${condition.name} | ${JSON.stringify(c.lineText.slice(0, c.character).trim())} | want ${JSON.stringify(c.expected)} | got ${JSON.stringify(got)}` +
                        (members ? ` | members ${members}` : "")
                );
            }
            if (isMemberAccess(c) && got === c.expected) memberEm++;
            if (logged.some((m) => m.includes("completion starts with a member"))) constrained++;
            const definitionLabel = `${path.relative(project.root, c.definition.file).split(path.sep).join("/")}:${c.definition.startLine + 1}`;
            if (logged.some((m) => m.includes("repository context:") && m.includes(definitionLabel))) inContext++;
            // Typing the expected text: what each keystroke costs the model.
            if (n < KEYSTROKE_CASES) {
                let typed = "";
                for (const ch of c.expected.slice(0, 4)) {
                    await client.edit(
                        uri,
                        {
                            start: { line: c.line, character: c.character + typed.length },
                            end: { line: c.line, character: c.character + typed.length }
                        },
                        ch
                    );
                    typed += ch;
                    const before = client.logs.all.length;
                    await client.complete(uri, { line: c.line, character: c.character + typed.length });
                    const m = client.logs.all
                        .slice(before)
                        .map((l) => /(\d+)\/\d+ prompt tokens evaluated/.exec(l.message))
                        .find((x) => x);
                    if (m) keystrokes.push(Number(m[1]));
                }
            }
            await client.close(uri);
            for (const f of open) await client.close(pathToFileURL(f).href);
        }
        await client.stop();
    }
    const n = allCases.length;
    const r: Result = {
        condition: condition.name,
        em: em / n,
        es: es / n,
        recallContext: inContext / n,
        p50: percentile(times, 50),
        p95: percentile(times, 95),
        keystrokeTokens: percentile(keystrokes, 50),
        cases: n,
        memberEm: memberCases > 0 ? memberEm / memberCases : 0,
        constrained
    };
    results.push(r);
    console.log(
        `${r.condition.padEnd(13)} EM ${(100 * r.em).toFixed(1)}%  ES ${(100 * r.es).toFixed(1)}%  definition in context ${(100 * r.recallContext).toFixed(0)}%  ` +
            `p50 ${r.p50.toFixed(0)} ms  p95 ${r.p95.toFixed(0)} ms  prompt tokens per keystroke (median) ${r.keystrokeTokens}  ` +
            `EM after \`object.\` ${(100 * r.memberEm).toFixed(1)}% of ${memberCases}, started with a member ${r.constrained}`
    );
}

function langOf(file: string) {
    return file.endsWith(".ts") ? "typescript" : "javascript";
}

const bm25Recall = recall.off / allCases.length;
const rerankRecall = recall.routing / allCases.length;
const retrieval =
    `recall@5 of the defining chunk (query: the 8 lines above the cursor): BM25 ${(100 * bm25Recall).toFixed(1)}% ` +
    `(p50 ${percentile(retrievalMs.off, 50).toFixed(0)} ms), BM25 + routing rerank ${(100 * rerankRecall).toFixed(1)}% ` +
    `(p50 ${percentile(retrievalMs.routing, 50).toFixed(0)} ms, vectors computed on first use)`;
if (retrievalMs.off.length > 0) console.log(retrieval);
if (only) process.exit(0);
// Today's: the model before repository context with open files' heads (this model with them when it is the same file).
const baseline = results.find((r) => r.condition === "today") ?? results.find((r) => r.condition === "open heads")!;
const best = results.find((r) => r.condition === "+ repetition")!;
const summary =
    `cross-file EM ${(100 * best.em).toFixed(1)}% vs ${(100 * baseline.em).toFixed(1)}% today (${baseline.em > 0 ? `${(best.em / baseline.em).toFixed(2)}x` : best.em > 0 ? "∞x" : "both none"})  ` +
    `ES ${(100 * best.es).toFixed(1)}% vs ${(100 * baseline.es).toFixed(1)}%  p50 ${(best.p50 / baseline.p50).toFixed(2)}x  keystroke tokens ${best.keystrokeTokens}`;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const indexed = new Set(CONDITIONS.filter((c) => c.on.index).map((c) => c.name));
const report = [
    "# Repository context: cross-file completion",
    "",
    `Made by \`npm run bench:context\` on ${new Date().toISOString().slice(0, 10)}, model \`${path.relative(ROOT, modelPath)}\`, 2 cores. ` +
        `${allCases.length} cases (${projects.map((p) => `${p.cases.length} in ${path.basename(p.root)}`).join(", ")}: packages the demo model never trained on), ` +
        "each a line cut right before a reference to a name another file of the project defines, as CrossCodeEval's static analysis keeps them (`isReference`: in code outside import statements, and a member `x.name` other than `this.name`, or a name the file imports or constructs with `new`); that file is never open, two other files of the project are.",
    "",
    `| condition | EM | ES | defining chunk in the prompt | p50 | p95 | prompt tokens per keystroke (median) | EM after \`object.\` (${memberCases} cases) | started with a known member |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...results.map(
        (r) =>
            `| ${r.condition} | ${pct(r.em)} | ${pct(r.es)} | ${indexed.has(r.condition) ? pct(r.recallContext) : "–"} | ${r.p50.toFixed(0)} ms | ${r.p95.toFixed(0)} ms | ${r.keystrokeTokens} | ${pct(r.memberEm)} | ${r.constrained} |`
    ),
    "",
    "*+ repetition* adds the repetition prior (`completion.repetitionPrior`, on by default for the demo model: " +
        "server/completion/repetitionPrior.ts), the tokens that followed the last few tokens written where they occurred before in the prompt; " +
        "*heads + rep.* is the prior with the open files' heads and no index: what repository context adds once the prior is there.",
    "",
    ...(previous
        ? []
        : [
              "The model file is the one from before repository context: *open heads* is what a user had then (today).",
              ""
          ]),
    `${retrieval[0]!.toUpperCase()}${retrieval.slice(1)}.`,
    "",
    `Summary: ${summary}`,
    "",
    "![EM and ES by condition](bench-context.svg)",
    ""
].join("\n");
writeFileSync(path.join(ROOT, "docs", "bench-context.md"), report);
writeFileSync(path.join(ROOT, "docs", "bench-context.svg"), barChart(results));
console.log("written: docs/bench-context.md, docs/bench-context.svg");
console.log(summary);

/** Two bars per condition (EM, ES), in plain SVG. */
function barChart(rows: Result[]): string {
    const W = 560,
        H = 300,
        left = 50,
        bottom = 250,
        top = 30;
    const group = (W - left - 20) / rows.length;
    const y = (v: number) => bottom - v * (bottom - top);
    const bars = rows.flatMap((r, i) =>
        [
            { v: r.em, color: "#2f6fd6", dx: 0.15 },
            { v: r.es, color: "#d6542f", dx: 0.5 }
        ].map(
            (b) =>
                `<rect x="${(left + group * (i + b.dx)).toFixed(1)}" y="${y(b.v).toFixed(1)}" width="${(group * 0.32).toFixed(1)}" height="${(bottom - y(b.v)).toFixed(1)}" fill="${b.color}"/>` +
                `<text x="${(left + group * (i + b.dx + 0.16)).toFixed(1)}" y="${(y(b.v) - 4).toFixed(1)}" font-size="11" text-anchor="middle">${(100 * b.v).toFixed(0)}%</text>`
        )
    );
    const labels = rows.map(
        (r, i) =>
            `<text x="${(left + group * (i + 0.5)).toFixed(1)}" y="${bottom + 18}" font-size="12" text-anchor="middle">${r.condition}</text>`
    );
    const axis = [0, 0.25, 0.5, 0.75, 1].map(
        (v) =>
            `<line x1="${left}" x2="${W - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v * 100}%</text>`
    );
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`,
        `<rect width="100%" height="100%" fill="white"/>`,
        `<text x="${left}" y="18" font-size="13">Cross-file line completion: exact match (blue) and edit similarity (red)</text>`,
        ...axis,
        ...bars,
        ...labels,
        "</svg>",
        ""
    ].join("\n");
}
