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
 * The tokens that may come next while `remaining` (the healed text not yet generated) is not
 * empty: those that are a beginning of it, or that start with all of it.
 */
export function allowedWhileHealing(vocabulary: readonly string[], remaining: string): Token[] {
    const allowed: Token[] = [];
    for (let t = 0; t < vocabulary.length; t++) {
        const text = vocabulary[t]!;
        if (text !== "" && (remaining.startsWith(text) || text.startsWith(remaining))) allowed.push(t as Token);
    }
    return allowed;
}

/** The suggestion without the healed text the model respelled first ("" while it is still respelling). */
export function withoutHealed(generated: string, heal: string): string {
    if (heal === "") return generated;
    return generated.startsWith(heal) ? generated.slice(heal.length) : "";
}
