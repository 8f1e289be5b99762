/**
 * Collects the training corpus (pipeline/corpus/sources.json): installs the npm packages at their
 * pinned versions into .cache/corpus (install scripts off), walks the listed folders, reads the
 * Python standard library, drops duplicates, minified and oversized files, and splits whole files
 * into train and held-out by a hash of their path. Writes JSONL: {path, language, text} per line.
 *
 *   npx tsx pipeline/corpus/collect.ts [outDir]   (default .cache/corpus)
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

type NpmSource = {
    package: string;
    version: string;
    license: string;
    language: string;
    dirs: string[];
    exclude?: string[];
};
type Sources = {
    npm: NpmSource[];
    python: { root: string; debianPackage: string; license: string; excludeDirs: string[] };
    heldOutPercent: number;
    maxFileBytes: number;
};
export type CorpusFile = { path: string; language: string; text: string };

const root = path.resolve(import.meta.dirname, "..", "..");
const sources = JSON.parse(readFileSync(path.join(import.meta.dirname, "sources.json"), "utf8")) as Sources;
const outDir = path.resolve(process.argv[2] ?? path.join(root, ".cache", "corpus"));
const EXTENSIONS: Record<string, string[]> = {
    typescript: [".ts", ".tsx", ".mts", ".cts"],
    javascript: [".js", ".mjs", ".cjs"],
    python: [".py"]
};

function walk(dir: string, exts: string[], skipDirs: Set<string>, out: string[] = []): string[] {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            if (!skipDirs.has(entry.name) && entry.name !== "node_modules") walk(p, exts, skipDirs, out);
        } else if (entry.isFile() && exts.some((e) => entry.name.endsWith(e)) && !entry.name.includes(".min."))
            out.push(p);
    }
    return out.sort();
}

/** Minified or generated: very long lines. */
const looksMinified = (text: string) => text.split("\n").some((l) => l.length > 1000);

const npmDir = path.join(outDir, "npm");
mkdirSync(npmDir, { recursive: true });
writeFileSync(path.join(npmDir, "package.json"), JSON.stringify({ private: true }));
execFileSync(
    "npm",
    [
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--no-package-lock",
        "--loglevel=error",
        ...sources.npm.map((s) => `${s.package}@${s.version}`)
    ],
    { cwd: npmDir, stdio: "inherit" }
);

const files: CorpusFile[] = [];
const seen = new Set<string>();
const stats: Record<string, { files: number; bytes: number }> = {};
function add(relPath: string, language: string, absPath: string) {
    if (statSync(absPath).size > sources.maxFileBytes) return;
    const text = readFileSync(absPath, "utf8");
    if (text.trim() === "" || looksMinified(text)) return;
    const digest = createHash("sha1").update(text).digest("hex");
    if (seen.has(digest)) return;
    seen.add(digest);
    files.push({ path: relPath, language, text });
    const s = (stats[language] ??= { files: 0, bytes: 0 });
    s.files++;
    s.bytes += Buffer.byteLength(text);
}

for (const s of sources.npm) {
    const pkgDir = path.join(npmDir, "node_modules", s.package);
    const exclude = new Set(s.exclude ?? []);
    for (const d of s.dirs) {
        const dir = path.join(pkgDir, d);
        if (!existsSync(dir)) throw new Error(`${s.package}@${s.version} has no ${d}/`);
        const exts = s.package === "@types/node" ? [".d.ts"] : EXTENSIONS[s.language]!;
        for (const f of walk(dir, exts, new Set())) {
            if (exclude.has(path.basename(f))) continue;
            // Declaration files beside compiled JS are generated; @types packages are hand-written.
            if (s.package !== "@types/node" && f.endsWith(".d.ts")) continue;
            add(`npm/${s.package}/${path.relative(pkgDir, f)}`, s.language, f);
        }
    }
}
for (const f of walk(sources.python.root, EXTENSIONS.python!, new Set(sources.python.excludeDirs)))
    add(`python/${path.relative(sources.python.root, f)}`, "python", f);

/** Held out by path, so a file is either wholly trained on or wholly unseen. */
const heldOut = (p: string) =>
    parseInt(createHash("sha1").update(p).digest("hex").slice(0, 8), 16) % 100 < sources.heldOutPercent;
const train = files.filter((f) => !heldOut(f.path));
const held = files.filter((f) => heldOut(f.path));
writeFileSync(path.join(outDir, "train.jsonl"), train.map((f) => JSON.stringify(f)).join("\n") + "\n");
writeFileSync(path.join(outDir, "heldout.jsonl"), held.map((f) => JSON.stringify(f)).join("\n") + "\n");
const summary = {
    stats,
    trainFiles: train.length,
    heldOutFiles: held.length,
    heldOutBytes: held.reduce((a, f) => a + Buffer.byteLength(f.text), 0)
};
writeFileSync(path.join(outDir, "summary.json"), JSON.stringify(summary, null, 2));
console.log(JSON.stringify(summary, null, 2));
