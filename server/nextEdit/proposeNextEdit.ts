/**
 * One next-edit proposal from a format and a model, whatever runs the model (the server's
 * backend, or the evaluation's context): the format's regions in order, each rewritten by the
 * model; the first rewrite that passes the checks is the proposal.
 *
 * Checks: an answer cut short by a budget is dropped (it would delete what it did not reach); the
 * new lines become one edit (candidates.ts `regionEdit`); an edit that puts back what the user
 * just changed is dropped, and so is one that adds a syntax error where a parser can tell.
 */
import type { RewriteOutput, RewriteRequest } from "../backend/Backend";
import type { NextEditItem } from "../protocol";
import { applyEdit, regionEdit } from "./candidates";
import type { NextEditFormat, NextEditInput } from "./nextEditFormats";

/** Tokens a region's rewrite may take: its characters over two (code runs 3–4 a token), and room for what it adds. */
const tokensFor = (chars: number) => Math.min(512, Math.ceil(chars / 2) + 32);

export type ProposeOptions = {
    rewrite(request: Omit<RewriteRequest, "signal">): Promise<RewriteOutput>;
    /** Syntax errors a parser finds in a text of the document's language; undefined without a grammar. */
    syntaxErrors(text: string): Promise<number | undefined>;
    /** For all the regions together. */
    timeBudgetMs: number;
    log?(line: string): void;
};

export async function proposeNextEdit(
    input: NextEditInput,
    format: NextEditFormat,
    options: ProposeOptions
): Promise<{ edit?: NextEditItem; tried: number; cancelled?: true }> {
    const deadline = performance.now() + options.timeBudgetMs;
    // The document's own syntax errors, parsed once for all the regions (and only when a rewrite needs them).
    let baseline: Promise<number | undefined> | undefined;
    const errorsBefore = () => (baseline ??= options.syntaxErrors(input.lines.join("\n")));
    let tried = 0;
    for (const region of format.regions(input)) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        tried++;
        const original = input.lines.slice(region.start, region.end);
        const output = await options.rewrite({
            prompt: format.prompt(input, region),
            maxTokens: tokensFor(original.join("\n").length),
            timeBudgetMs: left,
            stop: format.stop
        });
        if (output.cancelled) return { tried, cancelled: true };
        options.log?.(`next edit (${format.name}) at lines ${region.start + 1}-${region.end}: ${output.summary}`);
        if (!output.ended) continue;
        const rewritten = format.parse(output.text, input, region);
        const edit = rewritten && regionEdit(original, rewritten, region.start);
        if (!edit || undoes(edit, input) || !(await keepsSyntax(input.lines, edit, errorsBefore, options))) continue;
        return { edit, tried };
    }
    return { tried };
}

/** The edit puts back what the user just changed. */
function undoes(edit: NextEditItem, input: NextEditInput): boolean {
    const own = input.edits[0];
    if (!own || own.before.length === 0) return false;
    const after = applyEdit(input.lines, edit);
    return own.before.every((l, i) => after[own.line + i] === l);
}

/** No syntax error that the document did not have already (where a grammar can tell). */
async function keepsSyntax(
    lines: string[],
    edit: NextEditItem,
    errorsBefore: () => Promise<number | undefined>,
    options: ProposeOptions
): Promise<boolean> {
    const before = await errorsBefore();
    if (before === undefined) return true;
    const after = await options.syntaxErrors(applyEdit(lines, edit).join("\n"));
    return after === undefined || after <= before;
}
