/**
 * Every message between the chat panel's webview (media/chat/) and the extension (src/chat/),
 * as discriminated unions in one file both sides import. The webview holds no state of its own
 * that matters: the extension stores the chats and sends the whole view state when it changes.
 */

import type { RoutingActivity } from "../../server/protocol";

export type StoredMessage = {
    role: "user" | "assistant";
    content: string;
    /** The answer was cut short: stopped by the user, the server died while it streamed, or the model looped. */
    interrupted?: "stopped" | "server-stopped" | "repeating";
    /** What the user attached, by label (the text itself is not kept). */
    attachments?: string[];
    /** The workspace chunks `@workspace` gave the answer, to show and open. */
    references?: { label: string; uri: string; line: number }[];
    /** Figures of an answer. */
    meta?: { tokensPerSecond: number; experts: number; trimmed?: string };
};

export type StoredChat = {
    id: string;
    title: string;
    createdAt: number;
    messages: StoredMessage[];
    /** Experts per token for this chat: "auto" or a number (MoE models). */
    experts: "auto" | number;
};

/** `workspace`: the server retrieves workspace chunks for the question (also when the message says `@workspace`). */
export type ContextOptions = { selection: boolean; currentFile: boolean; diagnostics: boolean; workspace: boolean };

export type ViewState = {
    chat: StoredChat;
    history: { id: string; title: string; createdAt: number }[];
    /** An answer is streaming into the last message. */
    busy: boolean;
    /** The model's experts: total per layer (0 when not MoE) and trained count; `demo`: chat runs on the embedded demo model. */
    model?: { name: string; expertCount: number; trainedK: number; demo: boolean };
    context: ContextOptions;
    /** What the user would attach now (labels), so they see it before sending. */
    pendingContext: string[];
    notice?: string;
};

export type ToWebview =
    | { type: "state"; state: ViewState }
    /** A piece of the streaming answer (the full state follows when it ends), with the experts its tokens used (native runtime). */
    | { type: "chunk"; text: string; routing?: RoutingActivity }
    | { type: "focusInput" };

export type FromWebview =
    | { type: "ready" }
    | { type: "send"; text: string }
    | { type: "stop" }
    | { type: "regenerate" }
    | { type: "newChat" }
    | { type: "openChat"; id: string }
    | { type: "deleteChat"; id: string }
    | { type: "setExperts"; experts: "auto" | number }
    | { type: "setContext"; context: ContextOptions }
    | { type: "openReference"; uri: string; line: number }
    | { type: "chooseModel" }
    | { type: "copyCode"; code: string }
    | { type: "insertCode"; code: string }
    | { type: "applyCode"; code: string; language: string };
