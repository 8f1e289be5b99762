/**
 * Prompt lookup (n-gram) drafts: the text's last tokens are looked for earlier in the same
 * sequence (the prompt, with the document, the suffix, the retrieved context, the attachments and
 * the conversation, and what has been generated since), and the tokens that followed the match
 * are the draft. Code repeats itself — an edited line, a renamed name, a call written again — and
 * then the draft is right for several tokens at once (llama.cpp's `ngram-simple`, node-llama-cpp's
 * InputLookupTokenPredictor, which looks only in the input).
 */
import type { Token } from "node-llama-cpp";
export type LookupMatch = {
    /** Where the match ends: the position whose token equals the sequence's last one. */
    end: number;
    /** Tokens matched (ending at `end` and at the sequence's last position). */
    length: number;
    /** The tokens that followed the match: the draft, at most the asked length. */
    draft: Token[];
};

/** Matches shorter than this are noise (one common token says little of what follows). */
const MIN_PATTERN = 2;
/** Longer matches are not told apart: both are the same passage. */
const MAX_PATTERN = 16;

/**
 * The longest match of the sequence's last tokens earlier in it (the latest of equally long ones,
 * nearest the cursor), with up to `maxDraft` tokens that followed it; undefined when none.
 */
export function lookupDraft(tokens: readonly Token[], maxDraft: number): LookupMatch | undefined {
    const last = tokens.length - 1;
    if (last < MIN_PATTERN || maxDraft <= 0) return undefined;
    let best: { end: number; length: number } | undefined;
    for (let end = last - 1; end >= MIN_PATTERN - 1; end--) {
        if (tokens[end] !== tokens[last]) continue;
        let length = 1;
        while (length < MAX_PATTERN && end - length >= 0 && tokens[end - length] === tokens[last - length]) length++;
        if (length >= MIN_PATTERN && (!best || length > best.length)) {
            best = { end, length };
            if (length === MAX_PATTERN) break;
        }
    }
    if (!best) return undefined;
    // What followed the match; past the sequence's end, the draft's own beginning (a loop, or a
    // passage repeated with a period shorter than the draft, continues as it went).
    const draft: Token[] = [];
    for (let i = 0; i < maxDraft; i++) {
        const at = best.end + 1 + i;
        draft.push(at <= last ? tokens[at]! : draft[at - last - 1]!);
    }
    return { ...best, draft };
}
