/**
 * What ends a chat answer besides the model's own end of turn, checked on the text as it grows:
 *
 * - **a turn header of its own**: a line that starts a new turn in the general chat format
 *   (`### Human`, `# Assistant`, `User:` …). A template-less model (the demo model, a GGUF without
 *   a template) is prompted in that format, and a small one goes on writing the next turn, also
 *   inside a code fence, where the template's stop texts ("\n\n### Human") do not match;
 * - **a loop**: the same line `LOOP_LIMITS.sameLine` times in a row, or the end of the text
 *   made of one piece repeated `LOOP_LIMITS.periodRepeats` times (a phrase or a line over and
 *   over, with or without newlines). The answer is cut where the repetition began, so the user
 *   sees it once, and told the model was looping.
 *
 * Completions use the loop checks too (completion/filters.ts, generate.ts).
 *
 * Pure: text in, where to cut and why out (tested without a model).
 */

const LOOP_LIMITS = {
    /** A line this many times in a row is a loop (lines with fewer visible characters are not counted). */
    sameLine: 4,
    minLineChars: 8,
    /** The end of the answer repeating one piece this many times is a loop, for pieces of these lengths. */
    periodRepeats: 4,
    minPeriod: 2,
    maxPeriod: 120,
    /** …and only when the repeated run is at least this long (a short run may be legitimate: `ababab`). */
    minRunChars: 40
} as const;

/** Role headers of the general chat format (node-llama-cpp's GeneralChatWrapper) and its common variants. */
const TURN_HEADER = /^[ \t]*(?:#{1,3}[ \t]*(?:Human|Assistant|User|System)[ \t]*:?|(?:Human|User|Assistant):)[ \t]*$/m;

export type AnswerCut = { at: number; reason: "turn-header" | "repeating" };

/** Where to cut `text`, if it must stop now. */
export function answerCut(text: string, checkTurnHeaders: boolean): AnswerCut | undefined {
    if (checkTurnHeaders) {
        const header = TURN_HEADER.exec(text);
        // Only a whole line: the header may still be arriving ("# Assis…") and is then cut next time.
        if (header && text.indexOf("\n", header.index) >= 0)
            return { at: trimEndAt(text, header.index), reason: "turn-header" };
    }
    const line = repeatedLine(text);
    if (line !== undefined) return { at: line, reason: "repeating" };
    const period = repeatingTail(text);
    if (period !== undefined) return { at: period, reason: "repeating" };
    return undefined;
}

/** The start of a line's second occurrence, once it comes `sameLine` times in a row (blank lines between do not count). */
function repeatedLine(text: string): number | undefined {
    let previous: string | undefined;
    let run: number[] = [];
    let start = 0;
    while (true) {
        const end = text.indexOf("\n", start);
        // Whole lines only: the last one may still grow.
        if (end < 0) return undefined;
        const line = text.slice(start, end).trim();
        if (line !== "") {
            // Short lines (brackets, `else`) repeat in ordinary code: they neither count nor break a run.
            if (line.replace(/\W/g, "").length >= LOOP_LIMITS.minLineChars) {
                run = line === previous ? [...run, start] : [start];
                previous = line;
                if (run.length >= LOOP_LIMITS.sameLine) return trimEndAt(text, run[1]!);
            } else if (line !== previous) {
                previous = undefined;
                run = [];
            }
        }
        start = end + 1;
    }
}

/** Where the repeated run at the end of `text` began plus one period, when the end is a loop. */
function repeatingTail(text: string): number | undefined {
    const n = text.length;
    for (let p = LOOP_LIMITS.minPeriod; p <= LOOP_LIMITS.maxPeriod; p++) {
        const span = p * LOOP_LIMITS.periodRepeats;
        if (span > n) break;
        const piece = text.slice(n - p);
        if (!/\w/.test(piece)) continue;
        let ok = true;
        for (let k = 2; k <= LOOP_LIMITS.periodRepeats && ok; k++)
            ok = text.slice(n - k * p, n - (k - 1) * p) === piece;
        if (!ok) continue;
        // Walk back over the whole run, then keep its first occurrence.
        let runStart = n - span;
        while (runStart - p >= 0 && text.slice(runStart - p, runStart) === piece) runStart -= p;
        // The shortest piece that repeats is the loop ("_is_is_is…" keeps one "_is"), once its run is long enough.
        if (n - runStart < LOOP_LIMITS.minRunChars) continue;
        return trimEndAt(text, runStart + p);
    }
    return undefined;
}

/** `at`, moved back over the spaces and newlines before it. */
function trimEndAt(text: string, at: number): number {
    while (at > 0 && /\s/.test(text[at - 1]!)) at--;
    return at;
}
