/**
 * Stage 1 of the completion pipeline: everything about one request, computed once from the
 * document and the cursor (Continue calls this HelperVars). Pure: no model, no I/O.
 */
import type { CompletionSettings } from "../protocol";

/** Tuning of the prompt window, in lines. */
export const PROMPT_WINDOW = {
    /**
     * The prefix window starts on a multiple of this many lines, so moving the cursor down a
     * line does not shift the start of the prompt (which would re-evaluate it from scratch).
     */
    prefixAnchorLines: 16,
    /** Lines taken from each other open file as extra context. */
    extraLinesPerFile: 24,
    /** Other open files that may contribute extra context. */
    extraFiles: 2,
    /** Caps in characters, for minified files whose "lines" are megabytes long. */
    maxPrefixChars: 16_000,
    maxSuffixChars: 4_000,
    maxExtraChars: 4_000
} as const;

type ExtraSnippet = { path: string; text: string };

export type PromptInput = {
    uri: string;
    /** The file's name as prompts show it (relative to its workspace folder); the URI's path when unset. */
    path?: string;
    languageId: string;
    /** The prompt's prefix: from the anchored window start to the cursor. */
    prefix: string;
    /** The prompt's suffix: from the cursor to the end of the suffix window. */
    suffix: string;
    /** Text of the cursor's line before and after the cursor. */
    linePrefix: string;
    lineSuffix: string;
    /** The line after the cursor has text that is not just closing brackets: complete a single line only. */
    midLine: boolean;
    /** Leading whitespace of the cursor's line. */
    indent: string;
    /** The line before the cursor opens a block (`{`, `(`, `[`, `:`), so the completion is its body. */
    opensBlock: boolean;
    /** Non-empty lines after the cursor's line, for the repetition filter. */
    nextLines: string[];
    extra: ExtraSnippet[];
    /** Tokens the extra snippets may take; the prefix and suffix keep the rest. Undefined: whatever room is left. */
    extraTokens?: number;
    /** After `object.`: what the suggestion may start with, the rest of each member name of the object's type (memberAccess.ts). */
    members?: string[];
    /** Those of `members` whose names the code near the cursor uses (memberAccess.ts `usedNearby`): the likelier ones. */
    nearbyMembers?: string[];
};

type Range = { start: { line: number; character: number }; end: { line: number; character: number } };

/** What the pipeline reads of a document: only the lines it needs, so a 10 MB file costs no more than a small one. */
export type OpenDocument = { uri: string; languageId: string; lineCount: number; getText(range?: Range): string };

/** Only closing brackets, quotes and separators after the cursor: still an end of line. */
const CLOSERS_ONLY = /^[\s)\]}>'"`;,]*$/;
const BLOCK_OPENER = /[{([:]\s*$/;

const lineRange = (from: number, to: number): Range => ({
    start: { line: from, character: 0 },
    end: { line: to, character: 0 }
});

/** `others` are the other open documents, most recently edited first. */
export function buildPromptInput(
    doc: OpenDocument,
    position: { line: number; character: number },
    settings: CompletionSettings,
    others: readonly OpenDocument[] = []
): PromptInput {
    const line = Math.max(0, Math.min(position.line, doc.lineCount - 1));
    const earliest = Math.max(0, line - settings.prefixLines);
    const start = Math.floor(earliest / PROMPT_WINDOW.prefixAnchorLines) * PROMPT_WINDOW.prefixAnchorLines;
    // Line ends are normalised to "\n" (a "\r" only ever ends a line, so positions are unaffected).
    const before = doc.getText(lineRange(start, line)).replace(/\r\n/g, "\n").split("\n");
    before.pop(); // the empty remainder after the last line break
    const [current = "", ...after] = doc
        .getText(lineRange(line, line + 1 + settings.suffixLines))
        .replace(/\r\n/g, "\n")
        .split("\n");
    const character = Math.min(position.character, current.length);
    const linePrefix = current.slice(0, character);
    const lineSuffix = current.slice(character);

    const prefix = [...before, linePrefix].join("\n").slice(-PROMPT_WINDOW.maxPrefixChars);
    const suffix = [lineSuffix, ...after].join("\n").slice(0, PROMPT_WINDOW.maxSuffixChars);

    const indent = /^\s*/.exec(current)![0];
    const previousContent =
        linePrefix.trim() !== "" ? linePrefix : ([...before].reverse().find((l) => l.trim() !== "") ?? "");

    return {
        uri: doc.uri,
        languageId: doc.languageId,
        prefix,
        suffix,
        linePrefix,
        lineSuffix,
        midLine: !CLOSERS_ONLY.test(lineSuffix),
        indent,
        opensBlock: BLOCK_OPENER.test(previousContent),
        nextLines: after.filter((l) => l.trim() !== "").slice(0, 8),
        extra: settings.extraContext ? extraSnippets(doc, others) : []
    };
}

/**
 * The head of other open files of the same language (imports, declarations: what a completion
 * most often needs, and text that changes rarely, so it stays in the KV cache).
 */
function extraSnippets(doc: OpenDocument, others: readonly OpenDocument[]): ExtraSnippet[] {
    return others
        .filter((o) => o.uri !== doc.uri && o.languageId === doc.languageId)
        .slice(0, PROMPT_WINDOW.extraFiles)
        .map((o) => ({
            path: decodeURIComponent(o.uri.replace(/^file:\/\//, "")),
            text: o.getText(lineRange(0, PROMPT_WINDOW.extraLinesPerFile)).slice(0, PROMPT_WINDOW.maxExtraChars)
        }))
        .filter((s) => s.text.trim() !== "");
}
