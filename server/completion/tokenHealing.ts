/**
 * Token healing: the prompt ends where the cursor is, which is rarely where the model's tokenizer
 * would put a token boundary. Byte-level BPE tokenizes an indented word as "\n   " + " const", so
 * a prompt ending in the whole indentation ("\n    ") ends on a token the model has almost never
 * seen followed by a word — and it proposes nothing (measured on the demo model: 8 of 30 held-out
 * line completions empty). The fix (Microsoft's guidance library calls it token healing): drop
 * the prompt's last token and make the first generated tokens spell it out again, so the model
 * picks the boundary it knows ("\n   " then " const"); the respelled text is then cut from the
 * suggestion.
 *
 * Pure: the vocabulary's texts come in, so the constraint is unit-tested without a model.
 */
import type { Token } from "node-llama-cpp";

/** A token longer than this is not healed: the constraint would only ever allow itself. */
const MAX_HEALED_CHARS = 16;

/** The prompt's prefix without its last token, and that token's text, when it is worth healing. */
export function healPrefix(
    prefix: readonly Token[],
    textOf: (token: Token) => string
): { prefix: Token[]; heal: string } {
    const last = prefix.at(-1);
    if (last === undefined) return { prefix: [...prefix], heal: "" };
    const text = textOf(last);
    if (text === "" || text.length > MAX_HEALED_CHARS || text.includes("\uFFFD"))
        return { prefix: [...prefix], heal: "" };
    return { prefix: prefix.slice(0, -1), heal: text };
}

/**
 * What the first generated tokens must spell: one of `texts` (the healed text; or the healed text
 * followed by the rest of a member name, memberAccess.ts), after which generation is free. With
 * `wholeWord`, a token that goes past the end of a text must not go on with the same word
 * (`computeTotal` is not the start of `computeTotals`).
 */
export type Spelling = { texts: readonly string[]; wholeWord: boolean };

/** The spelling for a prompt whose last token was dropped, and the names the suggestion may start with. */
export function spellingOf(heal: string, continuations: readonly string[]): Spelling | undefined {
    if (continuations.length > 0) return { texts: continuations.map((c) => heal + c), wholeWord: true };
    return heal !== "" ? { texts: [heal], wholeWord: false } : undefined;
}

/**
 * The tokens that may come next after `generated`, or undefined once a text is spelled (or none
 * can be any more): those that are a beginning of what is left of a text, or that start with all
 * of it. With `wholeWord`, a text spelled exactly must not go on with the same word either (the
 * next token may not start with a word character unless it spells a longer text).
 */
export function allowedToSpell(
    vocabulary: readonly string[],
    spelling: Spelling,
    generated: string
): Token[] | undefined {
    if (!stillSpelling(spelling, generated)) return undefined;
    const fitting = fittingTokens(vocabulary, spelling, generated);
    if (spelling.wholeWord && spelling.texts.includes(generated))
        for (const t of vocabularyIndex(vocabulary).nonWord) fitting.add(t);
    return [...fitting].sort((a, b) => a - b);
}

/** The tokens that spell on towards a text longer than `generated`: a beginning of what is left of it, or all of it. */
function fittingTokens(vocabulary: readonly string[], spelling: Spelling, generated: string): Set<Token> {
    const index = vocabularyIndex(vocabulary);
    const fitting = new Set<Token>();
    const add = (text: string) => index.byText.get(text)!.forEach((t) => fitting.add(t));
    for (const text of spelling.texts) {
        if (!text.startsWith(generated) || text.length <= generated.length) continue;
        const rest = text.slice(generated.length);
        // A token that is a beginning of the rest…
        for (let n = 1; n <= rest.length; n++) if (index.byText.has(rest.slice(0, n))) add(rest.slice(0, n));
        // …or one that starts with all of it: a range of the sorted texts (with `wholeWord`, not going on with the word).
        for (let i = firstAtOrAfter(index.sorted, rest); index.sorted[i]?.startsWith(rest); i++)
            if (!(spelling.wholeWord && /[\w$]/.test(index.sorted[i]!.charAt(rest.length)))) add(index.sorted[i]!);
    }
    return fitting;
}

/** Whether the next token is still held to the spelling: no text spelled yet, or one spelled whole that a longer one or the word's end may follow. */
export function stillSpelling(spelling: Spelling, generated: string): boolean {
    if (spelling.wholeWord && spelling.texts.includes(generated)) return true;
    if (spelling.texts.some((t) => generated.startsWith(t))) return false;
    return spelling.texts.some((t) => t.startsWith(generated) && t.length > generated.length);
}

/**
 * The constraint on the next token as a token bias takes it: `raise` the few tokens that may come
 * (so end-of-generation, which a bias cannot forbid, cannot win before the user's text is
 * respelled), or `forbid` the rest where raising would not do: once a whole name is spelled the
 * suggestion may end there too (and the allowed tokens are most of the vocabulary), and when no
 * token fits any more, everything is forbidden so that generation ends and the name is finished
 * (`spellingRest`). Undefined once free.
 */
export function spellingStep(
    vocabulary: readonly string[],
    spelling: Spelling,
    generated: string
): { raise: Token[] } | { forbid: Token[] } | undefined {
    if (!stillSpelling(spelling, generated)) return undefined;
    const fitting = fittingTokens(vocabulary, spelling, generated);
    // A whole name spelled: any token but one that goes on with the word (unless towards a longer name).
    if (spelling.wholeWord && spelling.texts.includes(generated))
        return { forbid: vocabularyIndex(vocabulary).wordOrEmpty.filter((t) => !fitting.has(t)) };
    if (fitting.size === 0) return { forbid: Array.from(vocabulary, (_, t) => t as Token) };
    return { raise: [...fitting].sort((a, b) => a - b) };
}

/**
 * A vocabulary's tokens by text, its texts sorted, the tokens that begin with a character no word
 * goes on with, and the others; made once per vocabulary, so a step of the constraint looks up
 * the few tokens that can fit instead of testing all of them (151,936 in Qwen's vocabulary: 3.8 ms
 * a step).
 */
type VocabularyIndex = { byText: Map<string, Token[]>; sorted: string[]; nonWord: Token[]; wordOrEmpty: Token[] };
const indexes = new WeakMap<readonly string[], VocabularyIndex>();
/** Made at load (about 0.1 s for Qwen's vocabulary), so the first completion does not wait for it. */
export function vocabularyIndex(vocabulary: readonly string[]): VocabularyIndex {
    let index = indexes.get(vocabulary);
    if (!index) {
        const byText = new Map<string, Token[]>();
        const nonWord: Token[] = [],
            wordOrEmpty: Token[] = [];
        vocabulary.forEach((text, t) => {
            if (text !== "" && !/[\w$]/.test(text[0]!)) nonWord.push(t as Token);
            else wordOrEmpty.push(t as Token);
            if (text === "") return;
            const same = byText.get(text);
            if (same) same.push(t as Token);
            else byText.set(text, [t as Token]);
        });
        index = { byText, sorted: [...byText.keys()].sort(), nonWord, wordOrEmpty };
        indexes.set(vocabulary, index);
    }
    return index;
}

/** The first position in `sorted` (code-unit order) whose text is not before `text`. */
function firstAtOrAfter(sorted: readonly string[], text: string): number {
    let lo = 0,
        hi = sorted.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! < text) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/**
 * What is left to spell when generation ended early: the rest of the one text `generated` has
 * begun past the healed text ("" when nothing was begun, a text is spelled, or several fit).
 */
export function spellingRest(spelling: Spelling, generated: string, heal: string): string {
    if (generated.length <= heal.length || spelling.texts.some((t) => generated.startsWith(t))) return "";
    const fitting = spelling.texts.filter((t) => t.startsWith(generated));
    return fitting.length === 1 ? fitting[0]!.slice(generated.length) : "";
}

/** The suggestion without the healed text the model respelled first ("" while it is still respelling). */
export function withoutHealed(generated: string, heal: string): string {
    if (heal === "") return generated;
    return generated.startsWith(heal) ? generated.slice(heal.length) : "";
}
