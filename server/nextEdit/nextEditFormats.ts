/**
 * Next-edit prompts, one per format a model was trained on, and how each one's answer is read
 * back into the region's new lines.
 *
 * - `moe-pilot`, the embedded demo model's (pipeline/train/next_edits.py writes exactly this):
 *   the file's path, the change the newest edit made in whole tokens (tokenChange.ts), one
 *   candidate line of candidates.ts (away from the cursor: a rename's next use is often far below
 *   it), and the model answers `=` when the line takes the same change, the change of its own
 *   that it takes (`-removed` / `+added`), or nothing.
 * - `zeta`, Zed's Zeta (v1, zed-industries/zeta): an instruction, the user's edits as unified
 *   diffs, an excerpt with an editable region around the cursor; the answer is the excerpt from
 *   the region's start marker on (Zed's `parse_edits`).
 * - `sweep`, Sweep's next-edit model (sweepai/sweep-next-edit-1.5B, as Zed's sweep_prompt.rs
 *   builds it): `<|file_sep|>` blocks — the edits as original/updated pairs, the 21-line window
 *   before the newest edit and now — and the model writes the window updated.
 *
 * User text is never a control token: the parts a format marks special are the only ones
 * tokenized as such (the local engine), as the FIM prompt does.
 */
import type { PromptPart } from "../backend/Backend";
import { candidateLines } from "./candidates";
import type { Hunk } from "./editHistory";
import { applyChange, type TokenChange, tokenChange } from "./tokenChange";

type NextEditFormatName = "moe-pilot" | "zeta" | "sweep";

export type NextEditInput = {
    /** The file's path as prompts show it (workspace-relative). */
    path: string;
    /** The document's lines now. */
    lines: string[];
    /** The recent edits, newest first: this file's, then other files' (editHistory.ts `recent`). */
    edits: (Hunk & { path: string })[];
    cursor: { line: number; character: number };
};

/** Lines `[start, end)` of the document the model may rewrite. */
type Region = { start: number; end: number };

export type NextEditFormat = {
    name: NextEditFormatName;
    /** The regions to ask about, in order (the first one with an edit is the proposal). */
    regions(input: NextEditInput): Region[];
    prompt(input: NextEditInput, region: Region): PromptPart[];
    /** Texts at which the answer is over. */
    stop: string[];
    /** The region's lines as the model rewrote them; undefined when the answer is not one. */
    parse(output: string, input: NextEditInput, region: Region): string[] | undefined;
};

const lineList = (text: string) => text.replace(/\n$/, "").split("\n");

// ---------- moe-pilot ----------

/**
 * The change the newest edit of this file made, in whole tokens, and its line; undefined when there is none to
 * follow. A hunk's lines that it left as they were (a neighbouring edit merged in) are not part of it.
 */
function ownChange(input: NextEditInput): (TokenChange & { line: number }) | undefined {
    const own = input.edits[0];
    if (!own || own.path !== input.path) return undefined;
    let { before, after } = own;
    let first = 0;
    while (first < before.length - 1 && first < after.length - 1 && before[first] === after[first]) first++;
    before = before.slice(first);
    after = after.slice(first);
    while (before.length > 1 && after.length > 1 && before.at(-1) === after.at(-1)) {
        before = before.slice(0, -1);
        after = after.slice(0, -1);
    }
    const change = tokenChange(before.join("\n"), after.join("\n"));
    return change && { ...change, line: own.line + first };
}

/** The answer "the line takes the edit's own change" (a tiny model decides that well; it copies a long name badly). */
const SAME = "=";

const moePilot: NextEditFormat = {
    name: "moe-pilot",
    regions(input) {
        // One line each: the demo model names the change a line takes, not the line (it copies badly).
        const own = input.edits[0];
        if (!own || !ownChange(input)) return [];
        return candidateLines(input.lines, own).map((line) => ({ start: line, end: line + 1 }));
    },
    prompt(input, region) {
        const change = ownChange(input)!;
        return [
            { special: "<file_sep>" },
            `${input.path}\n### Edit ${change.line + 1}\n-${change.removed}\n+${change.added}\n` +
                `### Line ${region.start + 1}\n${input.lines[region.start]}\n### Next\n`
        ];
    },
    // A heading of its own, or a file separator: the answer is over (what follows is no part of it).
    stop: ["\n### ", "<file_sep>"],
    parse(output, input, region) {
        // `=`: the edit's own change; or `-removed` and `+added`, the line's own. Made at every whole-token occurrence
        // in the line; nothing, or a change the line does not hold, is no proposal.
        const [first, second] = output.split("\n");
        const change =
            first?.trim() === SAME
                ? ownChange(input)
                : first?.startsWith("-") && second?.startsWith("+")
                  ? { removed: first.slice(1), added: second.slice(1) }
                  : undefined;
        const line = change && applyChange(input.lines[region.start]!, change);
        return line === undefined ? undefined : [line];
    }
};

// ---------- Zeta ----------

const ZETA_INSTRUCTION =
    "### Instruction:\nYou are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.\n\n";
const START = "<|editable_region_start|>";
const END = "<|editable_region_end|>";
const CURSOR = "<|user_cursor_is_here|>";
const START_OF_FILE = "<|start_of_file|>";
/** Zed's limits, in its estimate of 3 bytes a token: the editable region 350 tokens, the context around it 150 more. */
const ZETA_REGION_BYTES = 350 * 3;
const ZETA_CONTEXT_BYTES = 150 * 3;
/** Edits shown, newest first within this many bytes (Zed: 500 tokens). */
const ZETA_EVENT_BYTES = 500 * 3;

/** Lines around `line` while their bytes fit `budget`, taking one below and one above in turn. */
function grow(lines: string[], from: Region, budget: number): Region {
    let { start, end } = from;
    let bytes = lines.slice(start, end).reduce((n, l) => n + l.length + 1, 0);
    for (let below = true; ; below = !below) {
        const next = below ? end : start - 1;
        if (next < 0 || next >= lines.length) {
            if (start <= 0 && end >= lines.length) return { start, end };
            continue;
        }
        bytes += lines[next]!.length + 1;
        if (bytes > budget) return { start, end };
        if (below) end++;
        else start--;
    }
}

/** One hunk as a unified diff with up to three lines of context (the document's lines now around it). */
export function unifiedDiff(hunk: Hunk, lines: string[] | undefined): string {
    const context = 3;
    const first = Math.max(0, hunk.line - context);
    const above = lines ? lines.slice(first, hunk.line) : [];
    const belowStart = hunk.line + hunk.after.length;
    const below = lines ? lines.slice(belowStart, belowStart + context) : [];
    const oldCount = above.length + hunk.before.length + below.length;
    const newCount = above.length + hunk.after.length + below.length;
    const start = (lines ? first : hunk.line) + 1;
    return [
        `@@ -${start},${oldCount} +${start},${newCount} @@`,
        ...above.map((l) => ` ${l}`),
        ...hunk.before.map((l) => `-${l}`),
        ...hunk.after.map((l) => `+${l}`),
        ...below.map((l) => ` ${l}`)
    ].join("\n");
}

const zeta: NextEditFormat = {
    name: "zeta",
    regions(input) {
        const around = { start: input.cursor.line, end: Math.min(input.lines.length, input.cursor.line + 1) };
        return [grow(input.lines, around, ZETA_REGION_BYTES)];
    },
    prompt(input, region) {
        // Events newest first while they fit, shown oldest first (Zed's order).
        const events: string[] = [];
        let bytes = 0;
        for (const e of input.edits) {
            const text = `User edited "${e.path}":\n\`\`\`diff\n${unifiedDiff(e, e.path === input.path ? input.lines : undefined)}\n\`\`\``;
            if (bytes + text.length > ZETA_EVENT_BYTES) break;
            bytes += text.length;
            events.unshift(text);
        }
        const context = grow(input.lines, region, ZETA_REGION_BYTES + ZETA_CONTEXT_BYTES);
        const { lines, cursor } = input;
        const editable = lines.slice(region.start, region.end);
        const at = cursor.line - region.start;
        const beforeCursor = [...editable.slice(0, at), (editable[at] ?? "").slice(0, cursor.character)].join("\n");
        const afterCursor = [(editable[at] ?? "").slice(cursor.character), ...editable.slice(at + 1)].join("\n");
        const head = lines
            .slice(context.start, region.start)
            .map((l) => `${l}\n`)
            .join("");
        const tail = lines
            .slice(region.end, context.end)
            .map((l) => `\n${l}`)
            .join("");
        return [
            `${ZETA_INSTRUCTION}### User Edits:\n\n${events.join("\n\n")}\n\n### User Excerpt:\n\n\`\`\`${input.path}\n`,
            ...(context.start === 0 ? [{ special: START_OF_FILE }, "\n"] : []),
            head,
            { special: START },
            `\n${beforeCursor}`,
            { special: CURSOR },
            afterCursor,
            "\n",
            { special: END },
            `${tail}\n\`\`\`\n\n### Response:\n\n`
        ];
    },
    stop: [END],
    parse(output) {
        const text = output.replaceAll(CURSOR, "");
        const start = text.indexOf(START);
        if (start < 0 || text.indexOf(START, start + 1) >= 0) return undefined;
        const body = text.slice(text.indexOf("\n", start) + 1);
        const end = body.lastIndexOf(`\n${END}`);
        // Generation stops at the end marker (a stop text), so it is usually not in the output.
        return lineList(end >= 0 ? body.slice(0, end) : body);
    }
};

// ---------- Sweep ----------

const FILE_SEP = "<|file_sep|>";
const SWEEP_WINDOW = 10;
const SWEEP_SIDE_LINES = 40;

const capped = (lines: string[]) =>
    lines.length <= SWEEP_SIDE_LINES ? lines : [...lines.slice(0, 20), "...", ...lines.slice(-19)];
const block = (name: string, lines: string[]): PromptPart[] => [
    { special: FILE_SEP },
    `${name}\n${lines.map((l) => `${l}\n`).join("")}`
];

const sweep: NextEditFormat = {
    name: "sweep",
    regions(input) {
        const c = input.cursor.line;
        return [{ start: Math.max(0, c - SWEEP_WINDOW), end: Math.min(input.lines.length, c + SWEEP_WINDOW + 1) }];
    },
    prompt(input, region) {
        const parts: PromptPart[] = [];
        for (const e of input.edits.slice(0, 3).reverse())
            parts.push(...block(`${e.path}.diff`, ["original:", ...capped(e.before), "updated:", ...capped(e.after)]));
        const now = input.lines.slice(region.start, region.end);
        // The window before the newest edit of this file: its lines put back.
        const own = input.edits.find((e) => e.path === input.path);
        let original = now;
        if (own && own.line >= region.start && own.line + own.after.length <= region.end) {
            const at = own.line - region.start;
            original = [...now.slice(0, at), ...own.before, ...now.slice(at + own.after.length)];
        }
        return [
            ...parts,
            ...block(`original/${input.path}`, original),
            ...block(`current/${input.path}`, now),
            { special: FILE_SEP },
            `updated/${input.path}\n`
        ];
    },
    stop: [FILE_SEP, "</s>"],
    parse(output) {
        const text = output.split(FILE_SEP)[0]!.split("</s>")[0]!;
        return text.trim() === "" ? undefined : lineList(text);
    }
};

const FORMATS: Record<NextEditFormatName, NextEditFormat> = { "moe-pilot": moePilot, zeta, sweep };

/**
 * The format for a model: the setting when it names one, else the one the model's name or file
 * says it was trained on (Zeta's, Sweep's, the project's own demo model's). Undefined for any
 * other model: a code model never trained for next edits (Qwen3-Coder, gpt-oss) does not follow
 * these prompts, and Copilot's, Cursor's and Zed's next edits, too, come from models trained
 * for them. The setting can still ask such a model in one of them.
 */
export function nextEditFormat(setting: string, modelName: string, modelPath: string): NextEditFormat | undefined {
    if (setting in FORMATS) return FORMATS[setting as NextEditFormatName];
    const names = `${modelName} ${modelPath.split(/[\\/]/).pop() ?? ""}`;
    if (/\bzeta\b/i.test(names)) return zeta;
    if (/sweep[-_ ]?next[-_ ]?edit/i.test(names)) return sweep;
    if (/moe[-_ ]?pilot/i.test(names)) return moePilot;
    return undefined;
}
