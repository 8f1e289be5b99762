/**
 * Chat history, kept by the extension (not the server) in VS Code's global state, so it survives
 * a window reload and a server crash. Saved when a message starts, while it streams (at most once
 * a second) and when it ends.
 */
import { randomUUID } from "node:crypto";
import type * as vscode from "vscode";
import type { StoredChat } from "./webviewProtocol";

const KEY = "moePilot.chats";
const CURRENT = "moePilot.currentChat";
/** Oldest chats beyond this many are forgotten. */
const MAX_CHATS = 50;
const STREAM_SAVE_INTERVAL_MS = 1000;

export class ChatStore {
    private chats: StoredChat[];
    private currentId: string;
    private lastStreamSave = 0;

    constructor(private readonly memento: vscode.Memento) {
        this.chats = memento.get<StoredChat[]>(KEY, []).filter(isChat);
        this.currentId = memento.get<string>(CURRENT, "");
        if (!this.chats.some((c) => c.id === this.currentId)) this.currentId = this.newChat().id;
    }

    get current(): StoredChat {
        return this.chats.find((c) => c.id === this.currentId)!;
    }
    get list(): StoredChat[] {
        return [...this.chats].sort((a, b) => b.createdAt - a.createdAt);
    }

    newChat(): StoredChat {
        const empty = this.chats.find((c) => c.messages.length === 0);
        const chat = empty ?? {
            id: randomUUID(),
            title: "New chat",
            createdAt: Date.now(),
            messages: [],
            experts: "auto" as const
        };
        if (!empty) this.chats = [chat, ...this.chats].slice(0, MAX_CHATS);
        this.currentId = chat.id;
        void this.save();
        return chat;
    }

    open(id: string) {
        if (this.chats.some((c) => c.id === id)) {
            this.currentId = id;
            void this.save();
        }
    }

    delete(id: string) {
        this.chats = this.chats.filter((c) => c.id !== id);
        if (this.currentId === id || this.chats.length === 0) {
            this.currentId = this.chats[0]?.id ?? "";
            if (!this.currentId) {
                this.newChat();
                return;
            }
        }
        void this.save();
    }

    /** Saves now; or, while streaming (`streaming` true), at most once a second. */
    save(streaming = false): Thenable<void> | undefined {
        const now = Date.now();
        if (streaming && now - this.lastStreamSave < STREAM_SAVE_INTERVAL_MS) return undefined;
        this.lastStreamSave = now;
        const current = this.current;
        if (current && current.title === "New chat" && current.messages[0])
            current.title = current.messages[0].content.split("\n")[0]!.slice(0, 60);
        return this.memento.update(KEY, this.chats).then(() => this.memento.update(CURRENT, this.currentId));
    }
}

function isChat(c: unknown): c is StoredChat {
    const x = c as StoredChat;
    return typeof x?.id === "string" && Array.isArray(x.messages) && typeof x.title === "string";
}
