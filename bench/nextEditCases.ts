/**
 * The next-edit cases of bench:nextedit and of the model card (pipeline/evaluate.ts): held-out
 * files, an edit each made as training makes them (pipeline/train/next_edit_cases.py), and every
 * line the edit calls for. Cases a parser finds broken are left out (a synthesized edit can break
 * code), and so are expected lines that would break it.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { applyEdit } from "../server/nextEdit/candidates";
import type { NextEditItem } from "../server/protocol";
import { Chunker } from "../server/workspace/chunker";
import { editSimilarity } from "./stats";

const ROOT = path.resolve(import.meta.dirname, "..");
const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";

export type Case = {
    kind: "rename" | "parameter" | "fix" | "key";
    path: string;
    language: string;
    lines: string[];
    edit: { line: number; before: string; after: string };
    follows: { line: number; text: string }[];
};

export function loadCases(heldout: string, perKind: number): Case[] {
    if (!existsSync(heldout))
        throw new Error(`${heldout} is missing: npx tsx pipeline/corpus/collect.ts .cache/corpus`);
    const script = path.join(ROOT, "pipeline", "train", "next_edit_cases.py");
    return JSON.parse(
        execFileSync(PYTHON, [script, heldout, String(perKind)], { maxBuffer: 1 << 28 }).toString()
    ) as Case[];
}

const EXTENSIONS: Record<string, string> = { typescript: ".ts", javascript: ".js", python: ".py" };
export const fileOf = (c: Case) => (/\.\w+$/.test(c.path) ? c.path : c.path + (EXTENSIONS[c.language] ?? ""));

/** Cases whose edit, and whose expected next edits, a parser accepts (a synthesized edit can break code). */
export async function parsable(cases: Case[]): Promise<Case[]> {
    const chunker = new Chunker();
    const out: Case[] = [];
    for (const c of cases) {
        const file = fileOf(c);
        const base = (await chunker.syntaxErrors(file, c.lines.join("\n"))) ?? 0;
        const edited = [...c.lines];
        edited[c.edit.line] = c.edit.after;
        if (((await chunker.syntaxErrors(file, edited.join("\n"))) ?? 0) > base) continue;
        const follows = [];
        for (const f of c.follows) {
            const next = [...edited];
            next[f.line] = f.text;
            if (((await chunker.syntaxErrors(file, next.join("\n"))) ?? 0) <= base) follows.push(f);
        }
        if (follows.length > 0) out.push({ ...c, follows });
    }
    return out;
}

/** The case's lines once the user's edit is made. */
export function edited(c: Case): string[] {
    const now = [...c.lines];
    now[c.edit.line] = c.edit.after;
    return now;
}

/**
 * Exact: the proposal, applied, gives the file with one of the lines the edit calls for changed as
 * it should be (location and text). Similarity: of the proposed line against the expected one,
 * where the proposal is at such a line (0 elsewhere).
 */
export function judge(c: Case, item: NextEditItem | undefined): { exact: boolean; similarity: number } {
    if (!item) return { exact: false, similarity: 0 };
    const now = edited(c);
    const result = applyEdit(now, item);
    const wanted = c.follows.map((f) => now.map((l, j) => (j === f.line ? f.text : l)).join("\n"));
    if (wanted.includes(result.join("\n"))) return { exact: true, similarity: 1 };
    const at = c.follows.find((f) => f.line === item.range.start.line);
    return {
        exact: false,
        similarity: at && result.length === now.length ? editSimilarity(result[at.line]!, at.text) : 0
    };
}
