/**
 * Stage 4: where a suggestion ends, and what of it is worth showing. Pure functions over text.
 *
 * - Mid-line (text after the cursor): one line only.
 * - A statement being written (code before the cursor, at the end of a line that does not open a
 *   block): the rest of that line only, as Copilot and Tabby do; the next line is suggested once
 *   the user is on it. Generation stops at the newline, which keeps typing-time latency short.
 * - Otherwise several lines, ending where the block ends: the first line indented less than the
 *   block (a closing bracket line is kept when the code after the cursor does not already close
 *   it), two blank lines in a row, or `maxLines`.
 * - Text that repeats what already follows the cursor is dropped (the closing `)` of the line,
 *   the next lines of the file).
 * - A loop (chat/answerGuard.ts: a piece or a line over and over, which a small model falls into:
 *   `addItem(item, item, item, …`) is cut where it began, the piece shown once, as a chat answer
 *   is: what comes before it (a member's name after `object.`) is often what the user wanted.
 */
import { answerCut } from "../chat/answerGuard";
import type { PromptInput } from "./promptInput";

export const FILTER_LIMITS = {
    maxLines: 16,
    tabWidth: 4
} as const;

type Shape = Pick<PromptInput, "midLine" | "indent" | "opensBlock" | "linePrefix" | "lineSuffix" | "nextLines">;

const ONLY_CLOSERS = /^\s*[)\]}]+[;,)]*\s*$/;

const indentWidth = (line: string) =>
    /^[ \t]*/.exec(line)![0].replace(/\t/g, " ".repeat(FILTER_LIMITS.tabWidth)).length;

/**
 * The index in `text` where the suggestion ends, or undefined while it may go on.
 * `final` means generation stopped: the last line is complete too.
 */
export function endOfSuggestion(text: string, ctx: Shape, final = false): number | undefined {
    if (ctx.midLine || (ctx.linePrefix.trim() !== "" && !ctx.opensBlock)) {
        const newline = text.indexOf("\n");
        return newline >= 0 ? newline : undefined;
    }

    // A cursor at the end of a line that opens a block completes the block's body: its lines are
    // deeper than the cursor's line. On an (indented) empty line the body is at the cursor's depth.
    const blockIndent = indentWidth(ctx.indent) + (ctx.opensBlock && ctx.linePrefix.trim() !== "" ? 1 : 0);
    const lines = text.split("\n");
    const complete = final ? lines.length : lines.length - 1;
    let offset = lines[0]!.length + 1;
    let blankRun = 0;

    for (let i = 1; i < complete; i++) {
        const line = lines[i]!;
        const start = offset - 1; // index of the "\n" that begins this line
        offset += line.length + 1;
        if (i >= FILTER_LIMITS.maxLines) return start;
        if (line.trim() === "") {
            if (++blankRun >= 2) return start - (lines[i - 1]!.length + 1);
            continue;
        }
        blankRun = 0;
        if (indentWidth(line) >= blockIndent) continue;
        const closesBlock = ONLY_CLOSERS.test(line) && ctx.nextLines[0]?.trim() !== line.trim();
        return closesBlock ? start + 1 + line.length : start;
    }
    return undefined;
}

/** The suggestion to show: cut where it ends, without repeats of what follows the cursor. Empty means nothing to show. */
export function postprocess(raw: string, ctx: Shape): string {
    const end = endOfSuggestion(raw, ctx, true);
    let text = (end === undefined ? raw : raw.slice(0, end)).trimEnd();

    if (ctx.midLine || ctx.lineSuffix.trim() !== "") {
        const rest = ctx.lineSuffix.trim();
        if (rest !== "" && text.trim() === rest) return "";
        if (rest !== "" && !text.includes("\n") && text.endsWith(rest))
            text = text.slice(0, text.length - rest.length).trimEnd();
    }

    if (!ctx.midLine && ctx.nextLines.length > 0) {
        const lines = text.split("\n");
        // Drop the longest run of trailing lines that repeats the lines after the cursor.
        for (let n = Math.min(lines.length, ctx.nextLines.length); n >= 1; n--) {
            const tail = lines.slice(lines.length - n).map((l) => l.trim());
            const next = ctx.nextLines.slice(0, n).map((l) => l.trim());
            if (tail.every((l, i) => l === next[i]) && tail.some((l) => l !== "")) {
                text = lines
                    .slice(0, lines.length - n)
                    .join("\n")
                    .trimEnd();
                break;
            }
        }
    }

    const loop = answerCut(text, false);
    if (loop) {
        // Not inside a word: the repeat's phase is where generation stopped (`item, it|em, item`).
        let at = loop.at;
        while (at > 0 && /[\w$]/.test(text[at - 1]!) && /[\w$]/.test(text[at] ?? "")) at--;
        text = text.slice(0, at).trimEnd();
    }

    return text.trim() === "" ? "" : text;
}
