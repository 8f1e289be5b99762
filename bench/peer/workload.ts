/**
 * The editing session both sides replay: held-out source files (the demo model never trained on
 * them) of three languages, each with a stretch of lines removed and typed back in character by
 * character, a completion asked for at each pause, plus a cursor jump elsewhere in the file and an
 * edit 40 lines above the cursor. Deterministic (a seeded generator), so both sides, and every run,
 * see identical text and cursor positions.
 *
 * "Human rate" is modelled by where the pauses fall (line ends always, word and punctuation
 * boundaries now and then), not by waiting: the replay measures each request's own time, and the
 * gap before the next one is taken to be long enough for background work (the peer's speculative
 * requests) to finish, as it is for a person typing.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

type WorkloadFile = { name: string; language: string; text: string };

type Step =
    /** The file becomes the active editor (opened with `text`, its replay-start state). */
    | { kind: "open"; file: number; text: string }
    /** Text inserted at `offset` (a typed character, or a far edit). */
    | { kind: "insert"; file: number; offset: number; text: string; far?: boolean }
    /** A completion is asked for at `offset`; `truth` is what the original file has there. */
    | { kind: "complete"; file: number; offset: number; truth: string; reason: "pause" | "jump" };

export type Workload = { files: WorkloadFile[]; steps: Step[]; source: string };

const LANGUAGES = { typescript: "ts", javascript: "js", python: "py" } as const;
const COMMENT: Record<string, string> = { typescript: "// ", javascript: "// ", python: "# " };

/** mulberry32: a small seeded generator, so the workload is the same on every machine. */
function random(seed: number): () => number {
    return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** The corpus's held-out files; made by the project's corpus step (npm registry only) when missing. */
function heldOutFiles(root: string): { path: string; language: string; text: string }[] {
    const file = path.join(root, ".cache", "corpus", "heldout.jsonl");
    if (!existsSync(file))
        execFileSync(process.execPath, ["--import", "tsx", path.join(root, "pipeline", "corpus", "collect.ts")], {
            cwd: root,
            stdio: "inherit"
        });
    return readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { path: string; language: string; text: string });
}

/**
 * `filesPerLanguage` files of each language (80-600 lines, chosen by a hash of their path), and in
 * each about `charsPerFile` characters to type back.
 */
export function makeWorkload(root: string, filesPerLanguage: number, charsPerFile: number, seed = 7): Workload {
    const rand = random(seed);
    const candidates = heldOutFiles(root)
        .filter((f) => f.language in LANGUAGES)
        .filter((f) => {
            const n = f.text.split("\n").length;
            return n >= 80 && n <= 600;
        })
        .sort((a, b) => hash(a.path).localeCompare(hash(b.path)));
    const files: WorkloadFile[] = [];
    for (const language of Object.keys(LANGUAGES))
        files.push(
            ...candidates
                .filter((f) => f.language === language)
                .slice(0, filesPerLanguage)
                .map((f) => ({
                    name: `${path.basename(f.path, path.extname(f.path))}.${LANGUAGES[language as keyof typeof LANGUAGES]}`,
                    language,
                    text: f.text.replace(/\r\n/g, "\n")
                }))
        );

    const steps: Step[] = [];
    files.forEach((f, file) => {
        const lines = f.text.split("\n");
        // the removed stretch: whole lines from 40% into the file, about charsPerFile characters
        const first = Math.floor(lines.length * 0.4);
        let last = first;
        while (last < lines.length - 1 && lines.slice(first, last + 1).join("\n").length < charsPerFile) last++;
        const start = lines.slice(0, first).join("\n").length + (first > 0 ? 1 : 0);
        const region = lines.slice(first, last + 1).join("\n") + "\n";
        const after = f.text.slice(start + region.length);
        let doc = f.text.slice(0, start) + after; // what the document holds as the replay goes
        steps.push({ kind: "open", file, text: doc });

        let cursor = start;
        const jumpAt = Math.floor(region.length / 2),
            editAt = Math.floor(region.length * 0.75);
        for (let i = 0; i < region.length; i++) {
            const ch = region[i]!;
            steps.push({ kind: "insert", file, offset: cursor, text: ch });
            doc = doc.slice(0, cursor) + ch + doc.slice(cursor);
            cursor++;
            const truth = region.slice(i + 1) + after;
            if (truth.length === 0) continue;
            // pauses: every line end; after a space or punctuation one time in three (not in indentation)
            const lineSoFar = doc.slice(doc.lastIndexOf("\n", cursor - 1) + 1, cursor);
            if (ch === "\n" || (/[ (.,;:={[]/.test(ch) && lineSoFar.trim() !== "" && rand() < 1 / 3))
                steps.push({ kind: "complete", file, offset: cursor, truth, reason: "pause" });
            if (i === jumpAt) {
                // a look elsewhere: the end of a line in the half of the file away from the cursor
                const docLines = doc.split("\n");
                const cursorLine = doc.slice(0, cursor).split("\n").length - 1;
                const target =
                    cursorLine > docLines.length / 2
                        ? Math.floor((rand() * cursorLine) / 2)
                        : cursorLine + 1 + Math.floor((rand() * (docLines.length - cursorLine - 2)) / 2);
                const offset = docLines.slice(0, target + 1).join("\n").length;
                steps.push({ kind: "complete", file, offset, truth: doc.slice(offset), reason: "jump" });
            }
            if (i === editAt) {
                // an edit far from the cursor: a comment line 40 lines above it
                const cursorLine = doc.slice(0, cursor).split("\n").length - 1;
                const line = Math.max(0, cursorLine - 40);
                const offset = doc.split("\n").slice(0, line).join("\n").length + (line > 0 ? 1 : 0);
                const text = `${COMMENT[f.language]}edited while typing below\n`;
                steps.push({ kind: "insert", file, offset, text, far: true });
                doc = doc.slice(0, offset) + text + doc.slice(offset);
                cursor += text.length;
            }
        }
    });
    return {
        files,
        steps,
        source: `${files.length} held-out files of .cache/corpus/heldout.jsonl (${files.map((f) => f.name).join(", ")})`
    };
}

function hash(s: string): string {
    return createHash("sha256").update(s).digest("hex");
}

/** Line and character of `offset` in `text` (LSP positions count UTF-16 units, as JS strings do). */
export function positionOf(text: string, offset: number): { line: number; character: number } {
    const before = text.slice(0, offset).split("\n");
    return { line: before.length - 1, character: before.at(-1)!.length };
}
