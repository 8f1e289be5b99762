/**
 * gpt-oss writes its turn in OpenAI's harmony format: messages on channels, each
 * `<|channel|>NAME<|message|>TEXT` ended by `<|end|>` (the next begun by `<|start|>assistant`),
 * the last by `<|return|>` (or `<|call|>` for a tool call). Its reasoning goes to the `analysis`
 * channel and its answer to `final`; the reasoning is not the answer, and OpenAI's guidance is that
 * users are not shown it as one. The server's token loop keeps every token; this reads the turn
 * so far: the answer's tokens (the text of `final` messages, or of a message without a channel),
 * how many went to other channels, and whether the turn has ended — a message for a role other
 * than the assistant (a model writing the user's next turn) ends it.
 * A turn that does not begin in harmony (a model that ignores the format) is shown as written.
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

export type HarmonyTurn = {
    /** The tokens of the answer, in order; it only grows as tokens are added. */
    answer: Token[];
    /** Tokens written on other channels (reasoning, tool calls): not shown. */
    hidden: number;
    /** A message for another role began: the assistant's turn is over. */
    ended: boolean;
};

/**
 * The turn `generated` so far. `headerText` decodes a header's tokens (the role after `<|start|>`;
 * the channel's name, with a recipient or constraint for tool calls, after `<|channel|>`).
 */
export function harmonyTurn(
    generated: readonly Token[],
    ids: HarmonyTokens,
    headerText: (tokens: Token[]) => string
): HarmonyTurn {
    const first = generated[0];
    if (first !== undefined && first !== ids.channel && first !== ids.message && first !== ids.start)
        return { answer: [...generated], hidden: 0, ended: false };
    const turn: HarmonyTurn = { answer: [], hidden: 0, ended: false };
    let state: "role" | "header" | "body" | "between" = "header";
    let header: Token[] = [];
    let shown = false;
    for (const token of generated) {
        if (token === ids.start) {
            state = "role";
            header = [];
        } else if (token === ids.channel || token === ids.message) {
            // the role, with a recipient after it for a tool call ("assistant to=functions.x")
            if (state === "role" && !/^assistant\b/.test(headerText(header).trim())) {
                turn.ended = true;
                break;
            }
            if (token === ids.channel) {
                state = "header";
                header = [];
                continue;
            }
            // a channel named final (nothing after its name), or no channel at all, is the answer
            const name = state === "header" ? headerText(header).trim() : "";
            shown = name === "" || name === "final";
            state = "body";
        } else if (token === ids.end || token === ids.returnToken || token === ids.call) state = "between";
        else if (state === "role" || state === "header") header.push(token);
        else if (state === "body") {
            if (shown) turn.answer.push(token);
            else turn.hidden++;
        }
    }
    return turn;
}
