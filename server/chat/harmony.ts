/**
 * gpt-oss writes its turn in OpenAI's harmony format: messages on channels, each
 * `<|channel|>NAME<|message|>TEXT` ended by `<|end|>` (and the next begun by `<|start|>assistant`),
 * the last by `<|return|>` (or `<|call|>` for a tool call). Its reasoning goes to the `analysis`
 * channel and its answer to `final`; the reasoning is not the answer, and OpenAI's guidance is that
 * users are not shown it as one. The server's token loop keeps every token; this picks out the
 * answer's: the text of `final` messages (or of a message without a channel), nothing of the others.
 * A turn with no harmony structure at all (a model that ignores the format) is shown as written.
 */
import type { Token } from "node-llama-cpp";

export type HarmonyTokens = {
    channel: Token;
    message: Token;
    end: Token;
    start: Token;
    returnToken: Token;
    call: Token;
};

/** The harmony control tokens of a vocabulary, or undefined when it lacks any of them. */
export function harmonyTokens(special: (text: string) => Token | undefined): HarmonyTokens | undefined {
    const ids = {
        channel: special("<|channel|>"),
        message: special("<|message|>"),
        end: special("<|end|>"),
        start: special("<|start|>"),
        returnToken: special("<|return|>"),
        call: special("<|call|>")
    };
    return Object.values(ids).every((id) => id !== undefined) ? (ids as HarmonyTokens) : undefined;
}

/**
 * The tokens of `generated` that belong to the answer: the bodies of its `final` messages.
 * `headerText` decodes a message header's tokens (between `<|channel|>` and `<|message|>`: the
 * channel's name, and a recipient or constraint for tool calls).
 */
export function harmonyAnswer(
    generated: readonly Token[],
    ids: HarmonyTokens,
    headerText: (tokens: Token[]) => string
): Token[] {
    if (!generated.some((t) => t === ids.channel || t === ids.message)) return [...generated];
    const answer: Token[] = [];
    let state: "header" | "body" | "between" = "header";
    let header: Token[] = [];
    let shown = false;
    for (const token of generated) {
        if (token === ids.message) {
            // a message without a channel is the answer; a channel named final (with nothing after its name) is too
            const name = headerText(header).trim();
            shown = name === "" || name === "final";
            state = "body";
            header = [];
        } else if (token === ids.channel) {
            state = "header";
            header = [];
        } else if (token === ids.end || token === ids.returnToken || token === ids.call) {
            state = "between";
        } else if (token === ids.start) {
            state = "between"; // the role that follows is not part of any message
        } else if (state === "header") header.push(token);
        else if (state === "body" && shown) answer.push(token);
    }
    return answer;
}
