/**
 * Where the next edit may be: the lines an edit leaves behind that look like what it changed.
 *
 * A rename leaves the old name at the uses; a parameter added leaves the calls with the old
 * arguments; `==` made `===` leaves the other `==`; a key added to one object literal leaves the
 * literals that start with the same key. So the anchors of an edit are: the words it removed,
 * the token it changed (whitespace to whitespace), the function whose call parentheses it is in,
 * the first key of the object literal it is in. The lines outside the edit that contain an anchor
 * are the candidates, below the edit first (code is read and changed downwards), nearest first.
 * The model is then asked about each candidate line (Copilot's NES and Zeta rewrite a region
 * around the cursor instead, which cannot reach a use fifty lines below).
 */
import type { Hunk } from "./editHistory";

const WORD = /[A-Za-z_$][\w$]*/g;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const words = (lines: string[]) => new Set(lines.join("\n").match(WORD) ?? []);

/** The changed part of `before` → `after`: offsets in each, after their common beginning and end. */
export function changedSpan(before: string, after: string) {
    let p = 0;
    while (p < before.length && p < after.length && before[p] === after[p]) p++;
    let q = 0;
    while (
        q < before.length - p &&
        q < after.length - p &&
        before[before.length - 1 - q] === after[after.length - 1 - q]
    )
        q++;
    return { start: p, oldEnd: before.length - q, newEnd: after.length - q };
}

/** The identifier before the innermost `open` bracket still open at `at` in `text`, and where that bracket is. */
function enclosing(text: string, at: number, open: string, close: string): number | undefined {
    let depth = 0;
    for (let i = at - 1; i >= 0; i--) {
        const ch = text[i];
        if (ch === close) depth++;
        else if (ch === open) {
            if (depth === 0) return i;
            depth--;
        } else if (ch === "\n") return undefined;
    }
    return undefined;
}

/** Patterns that find what the edit `before` → `after` leaves to change elsewhere. */
export function anchors(before: string[], after: string[]): RegExp[] {
    const out: RegExp[] = [];
    const kept = words(after);
    for (const w of words(before))
        if (!kept.has(w) && w.length >= 2) out.push(new RegExp(`(?<![\\w$])${escape(w)}(?![\\w$])`));

    const old = before.join("\n");
    const now = after.join("\n");
    const span = changedSpan(old, now);
    // The changed token, whitespace to whitespace (`==` of `a == b`), where it is not a word (words are above).
    let a = span.start;
    let b = span.oldEnd;
    while (a > 0 && !/\s/.test(old[a - 1]!)) a--;
    while (b < old.length && !/\s/.test(old[b]!)) b++;
    const token = old.slice(a, b);
    if (token && !/^[\w$]+$/.test(token) && token.length <= 40) out.push(new RegExp(`(?<!\\S)${escape(token)}(?!\\S)`));
    // Inside a call's parentheses: the calls of the same function.
    const paren = enclosing(old, span.start, "(", ")");
    const callee = paren !== undefined ? /([A-Za-z_$][\w$]*)\s*$/.exec(old.slice(0, paren))?.[1] : undefined;
    if (callee && !/^(if|for|while|switch|catch|function|return)$/.test(callee))
        out.push(new RegExp(`(?<![\\w$.])${escape(callee)}\\s*\\(`));
    // Inside an object literal: the literals with the same first key.
    const brace = enclosing(old, span.start, "{", "}");
    const key = brace !== undefined ? /^\{\s*([A-Za-z_$][\w$]*)\s*:/.exec(old.slice(brace))?.[1] : undefined;
    if (key) out.push(new RegExp(`\\{\\s*${escape(key)}\\s*:`));
    return out;
}

/** The lines (0-based) worth a look after `hunk`: below it first, nearest first, at most `limit`, at least `gap` apart. */
export function candidateLines(lines: string[], hunk: Hunk, limit = 3, gap = 3): number[] {
    const patterns = anchors(hunk.before, hunk.after);
    const first = hunk.line;
    const last = hunk.line + hunk.after.length - 1;
    const below: number[] = [];
    const above: number[] = [];
    if (patterns.length > 0)
        for (let i = 0; i < lines.length; i++) {
            if (i >= first && i <= last) continue;
            if (!patterns.some((p) => p.test(lines[i]!))) continue;
            (i > last ? below : above).push(i);
        }
    above.reverse();
    const chosen: number[] = [];
    for (const line of [...below, ...above]) {
        if (chosen.length >= limit) break;
        if (chosen.every((c) => Math.abs(c - line) >= gap)) chosen.push(line);
    }
    return chosen;
}

export type TextEdit = {
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    newText: string;
};

/** The one edit that turns the region's `original` lines (starting at line `start`) into `rewritten`; undefined when they are the same. */
export function regionEdit(original: string[], rewritten: string[], start: number): TextEdit | undefined {
    const old = original.join("\n");
    const now = rewritten.join("\n");
    if (old === now) return undefined;
    const span = changedSpan(old, now);
    const position = (offset: number) => {
        const before = old.slice(0, offset).split("\n");
        return { line: start + before.length - 1, character: before.at(-1)!.length };
    };
    return {
        range: { start: position(span.start), end: position(span.oldEnd) },
        newText: now.slice(span.start, span.newEnd)
    };
}

/** `text` with `edit` applied (lines of `text` are the document's). */
export function applyEdit(lines: string[], edit: TextEdit): string[] {
    const { start, end } = edit.range;
    const head = lines[start.line]!.slice(0, start.character);
    const tail = lines[end.line]!.slice(end.character);
    return [...lines.slice(0, start.line), ...(head + edit.newText + tail).split("\n"), ...lines.slice(end.line + 1)];
}
