/**
 * An edit as the change it makes in whole tokens, and that change made again on another line: the
 * project's next-edit format (nextEditFormats.ts `moe-pilot`) shows the model the change the user
 * made and reads back the change the model names for a candidate line.
 *
 * pipeline/train/next_edits.py (`token_change`, `apply_change`) is the same code for training: the
 * two must agree, so change both or neither.
 */

/** Whitespace as Python's `str.isspace` has it (JavaScript's `\s` differs: `\ufeff` in, `\x1c`–`\x1f` and `\x85` out). */
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const IS_SPACE = new RegExp(`^[${SPACE}]$`);
const ONLY_SPACE = new RegExp(`^[${SPACE}]*$`);

/** Code's tokens for a change: words, runs of spaces, runs of other characters (`==` and `===` are one token each). */
const TOKEN = new RegExp(`[A-Za-z0-9_$]+|[${SPACE}]+|[^A-Za-z0-9_$${SPACE}]+`, "g");

/** 0: word, 1: space, 2: other. */
const kindOf = (ch: string) => (/[A-Za-z0-9_$]/.test(ch) ? 0 : IS_SPACE.test(ch) ? 1 : 2);

export type TokenChange = { removed: string; added: string };

/**
 * The part of `before` that `after` changes, in whole tokens (common tokens at both ends left out),
 * widened by the token before it (else after) while what it removes is only space: `total` →
 * `grandTotal`; `==` → `===`; `b` → `b, options` for a parameter added after `b`. Undefined when
 * they are the same or the change spans lines.
 */
export function tokenChange(before: string, after: string): TokenChange | undefined {
    if (before === after) return undefined;
    const a = before.match(TOKEN) ?? [];
    const b = after.match(TOKEN) ?? [];
    let p = 0;
    while (p < a.length && p < b.length && a[p] === b[p]) p++;
    let s = 0;
    while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
    let start = p;
    let endA = a.length - s;
    let endB = b.length - s;
    while (ONLY_SPACE.test(a.slice(start, endA).join(""))) {
        if (start > 0) start--;
        else if (endA < a.length) {
            endA++;
            endB++;
        } else return undefined;
    }
    const removed = a.slice(start, endA).join("");
    const added = b.slice(start, endB).join("");
    return removed.includes("\n") || added.includes("\n") ? undefined : { removed, added };
}

/**
 * `line` with every whole-token occurrence of `change.removed` made `change.added` (not `==` inside
 * `===`, not `total` inside `subtotal`); undefined when there is none.
 */
export function applyChange(line: string, { removed, added }: TokenChange): string | undefined {
    if (!removed) return undefined;
    const first = kindOf(removed[0]!);
    const last = kindOf(removed.at(-1)!);
    let out = "";
    let i = 0;
    let found = false;
    for (let j = line.indexOf(removed); j >= 0; j = line.indexOf(removed, i)) {
        const end = j + removed.length;
        const joinsBefore = j > 0 && first !== 1 && kindOf(line[j - 1]!) === first;
        const joinsAfter = end < line.length && last !== 1 && kindOf(line[end]!) === last;
        if (joinsBefore || joinsAfter) {
            out += line.slice(i, j + 1);
            i = j + 1;
            continue;
        }
        out += line.slice(i, j) + added;
        i = end;
        found = true;
    }
    return found ? out + line.slice(i) : undefined;
}
