/**
 * The user's recent edits, as next-edit suggestions read them (Zed's edit events, Continue's
 * edit history): the document changes the server already receives, coalesced into hunks of whole
 * lines, kept in memory, bounded.
 *
 * Each change is recorded before it is applied (documents/safeDocuments.ts calls `record` with the
 * document as it was), so the lines it replaced are known without keeping a copy of every file.
 * A change that touches the file's newest hunk (its lines, or the line next to them) within
 * `COALESCE_MS` grows that hunk: typing a new name character by character is one edit, `count` →
 * `total`, not seven. A change elsewhere starts a new hunk; older hunks below it move with the
 * lines. A change of more than `MAX_HUNK_LINES` lines or `MAX_HUNK_CHARS` characters (a paste, a
 * formatter, a minified line) is no edit to follow: it is not recorded, its text is never read, and
 * the hunks it overlaps are dropped.
 */
import type { Range, TextDocument } from "vscode-languageserver-textdocument";

/** One coalesced edit: `before` were the lines `line`… before it, `after` are those lines now. */
export type Hunk = {
    uri: string;
    /** The hunk's first line in the document now (0-based). */
    line: number;
    before: string[];
    after: string[];
    /** Date.now() of the last change merged in. */
    at: number;
};

/** Changes this close in time, on the same or the next line, are one edit. */
export const COALESCE_MS = 5000;
export const MAX_HUNK_LINES = 40;
/** Nor is a change of more characters than this (a minified line). */
const MAX_HUNK_CHARS = 8000;
/** A change without a range is compared with the text only below this size. */
const MAX_NARROW_CHARS = 1 << 20;
const MAX_HUNKS_PER_FILE = 8;
const MAX_FILES = 8;

/** The lines `from`..`to` (inclusive) of `doc`, without their line breaks. */
function linesOf(doc: TextDocument, from: number, to: number): string[] {
    if (to < from) return [];
    const text = doc.getText({ start: { line: from, character: 0 }, end: { line: to + 1, character: 0 } });
    return text.replace(/\r?\n$/, "").split(/\r?\n/);
}

/** For a change without a range (the whole text): the range of lines that differ, and what replaces them. */
function narrowed(before: string, after: string): { range: Range; text: string } {
    const a = before.split("\n");
    const b = after.split("\n");
    let head = 0;
    while (head < a.length - 1 && head < b.length - 1 && a[head] === b[head]) head++;
    let tail = 0;
    while (
        tail < a.length - 1 - head &&
        tail < b.length - 1 - head &&
        a[a.length - 1 - tail] === b[b.length - 1 - tail]
    )
        tail++;
    const endLine = a.length - 1 - tail;
    return {
        range: { start: { line: head, character: 0 }, end: { line: endLine, character: a[endLine]!.length } },
        text: b.slice(head, b.length - tail).join("\n")
    };
}

export class EditHistory {
    /** Per file, oldest hunk first; files in order of their last edit. */
    private readonly files = new Map<string, Hunk[]>();

    constructor(private readonly now: () => number = Date.now) {}

    /** `change` (its range in `doc`, `doc` as it is before the change) is about to be applied. */
    record(doc: TextDocument, change: { range?: Range; text: string }) {
        let range = change.range;
        let text = change.text;
        if (!range) {
            // A whole text too large to compare line by line: this file's edits are forgotten.
            if (text.length > MAX_NARROW_CHARS || doc.getText().length > MAX_NARROW_CHARS) {
                this.files.delete(doc.uri);
                return;
            }
            const narrow = narrowed(doc.getText(), text);
            range = narrow.range;
            text = narrow.text;
        }
        const a = range.start.line;
        const b = Math.min(range.end.line, doc.lineCount - 1);
        const hunks = this.files.get(doc.uri) ?? [];
        const newest = hunks.at(-1);
        const at = this.now();
        const insertedLines = text.split("\n").length;
        const delta = insertedLines - 1 - (b - a);

        // The region the hunk will cover in the document as it is now: the change's lines, and the newest hunk's if they touch.
        const end = (h: Hunk) => h.line + h.after.length - 1;
        const merge =
            newest !== undefined && at - newest.at <= COALESCE_MS && a <= end(newest) + 1 && b >= newest.line - 1;
        const u0 = merge ? Math.min(newest.line, a) : a;
        const u1 = merge ? Math.max(end(newest), b) : b;
        // Hunks the change overlaps are superseded; hunks below it move with the lines.
        const kept: Hunk[] = [];
        for (const h of hunks) {
            if (merge && h === newest) continue;
            if (h.line > u1) kept.push({ ...h, line: h.line + delta });
            else if (end(h) < u0) kept.push(h);
        }
        // Measured before any text is read: a keystroke in a 10 MB one-line file must not copy the line.
        const chars = doc.offsetAt({ line: u1 + 1, character: 0 }) - doc.offsetAt({ line: u0, character: 0 });
        const big =
            u1 - u0 + 1 > MAX_HUNK_LINES ||
            insertedLines > MAX_HUNK_LINES ||
            chars > MAX_HUNK_CHARS ||
            text.length > MAX_HUNK_CHARS;
        if (!big) {
            const current = linesOf(doc, u0, u1);
            const before = merge
                ? [...linesOf(doc, u0, newest.line - 1), ...newest.before, ...linesOf(doc, end(newest) + 1, u1)]
                : current;
            const joined = current.join("\n");
            const offset = (line: number, character: number) =>
                current.slice(0, line - u0).reduce((n, l) => n + l.length + 1, 0) +
                Math.min(character, current[line - u0]?.length ?? 0);
            const after = (
                joined.slice(0, offset(a, range.start.character)) +
                text +
                joined.slice(offset(b, b < range.end.line ? Number.MAX_SAFE_INTEGER : range.end.character))
            ).split(/\r?\n/);
            const same = before.length === after.length && before.every((l, i) => l === after[i]);
            if (!same && before.length <= MAX_HUNK_LINES) kept.push({ uri: doc.uri, line: u0, before, after, at });
        }
        this.files.delete(doc.uri);
        if (kept.length > 0) this.files.set(doc.uri, kept.slice(-MAX_HUNKS_PER_FILE));
        while (this.files.size > MAX_FILES) this.files.delete(this.files.keys().next().value as string);
    }

    /** The recent edits, newest first: `uri`'s own, then the newest of each other file (up to `otherFiles`). */
    recent(uri: string, otherFiles = 2): Hunk[] {
        const own = [...(this.files.get(uri) ?? [])].reverse();
        const others = [...this.files.entries()]
            .filter(([u]) => u !== uri)
            .reverse()
            .slice(0, otherFiles)
            .map(([, hunks]) => hunks.at(-1)!);
        return [...own, ...others];
    }

    /** Forgets a file (closed, or deleted). */
    forget(uri: string) {
        this.files.delete(uri);
    }
}
