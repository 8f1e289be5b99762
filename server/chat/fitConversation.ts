/**
 * The chat prompt's context-window policy, stated rather than silent:
 *
 * 1. The system prompt and the user's new message always go in whole. If they alone do not fit,
 *    the request is refused (ChatTooLongError) — an instruction is never cut in the middle.
 * 2. Attachments go in whole, in the order the user gave them, while they fit; one that does not
 *    fit is left out and named in the result.
 * 3. Earlier messages go in newest first, whole turns, while they fit; the count left out is
 *    reported.
 *
 * Pure: token counting is passed in, so the policy is unit-tested without a model.
 */
import type { ChatAttachment, ChatMessage } from "../protocol";

export class ChatTooLongError extends Error {
    override readonly name = "ChatTooLongError";
    constructor(
        readonly tokens: number,
        readonly budget: number
    ) {
        super(
            `The message is too long for the model's context: it needs ${tokens} tokens and ${budget} are available. Shorten it or attach less.`
        );
    }
}

export type ChatTurn = { role: "system" | "user" | "assistant"; text: string };

export type FittedChat = {
    turns: ChatTurn[];
    trimmed: { attachments: string[]; earlierMessages: number };
};

export function renderAttachment(a: ChatAttachment): string {
    const heading = {
        diagnostics: "Problems in",
        selection: "Selected code from",
        file: "File",
        workspace: "Workspace code from"
    }[a.kind];
    return `${heading} ${a.label}:\n\`\`\`\n${a.text}\n\`\`\``;
}

/**
 * Fits a conversation into `budget` tokens. `count` gives the tokens a list of turns takes once
 * rendered by the chat template (so template overhead is counted, not guessed).
 */
export function fitConversation(
    system: string,
    messages: readonly ChatMessage[],
    attachments: readonly ChatAttachment[],
    budget: number,
    count: (turns: ChatTurn[]) => number
): FittedChat {
    const last = messages.at(-1);
    if (!last || last.role !== "user") throw new Error("the last chat message must be the user's");
    const earlier = messages.slice(0, -1);
    const head: ChatTurn = { role: "system", text: system };
    const question = (included: ChatAttachment[]): ChatTurn => ({
        role: "user",
        text: included.length === 0 ? last.content : `${included.map(renderAttachment).join("\n\n")}\n\n${last.content}`
    });

    const minimal = count([head, question([])]);
    if (minimal > budget) throw new ChatTooLongError(minimal, budget);

    const included: ChatAttachment[] = [];
    const leftOut: string[] = [];
    for (const a of attachments) {
        if (count([head, question([...included, a])]) <= budget) included.push(a);
        else leftOut.push(a.label);
    }

    const history: ChatTurn[] = [];
    let dropped = 0;
    for (let i = earlier.length - 1; i >= 0; i--) {
        const turn: ChatTurn = { role: earlier[i]!.role, text: earlier[i]!.content };
        if (dropped === 0 && count([head, turn, ...history, question(included)]) <= budget) history.unshift(turn);
        else dropped++;
    }
    return {
        turns: [head, ...history, question(included)],
        trimmed: { attachments: leftOut, earlierMessages: dropped }
    };
}
