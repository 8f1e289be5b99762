import { type Connection, MessageType, ShowMessageNotification } from "vscode-languageserver";
/**
 * The server's logger: tagged lines sent to the client as `window/logMessage` (the client shows
 * them in its "MoE Pilot" log channel), or to stderr before a connection exists.
 */
export type Logger = {
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
    tagged(tag: string): Logger;
};

export type LogSink = { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };

export function createLogger(sink: LogSink, tag = ""): Logger {
    const prefix = tag ? `[${tag}] ` : "";
    return {
        debug: (m) => sink.debug(prefix + m),
        info: (m) => sink.info(prefix + m),
        warn: (m) => sink.warn(prefix + m),
        error: (m) => sink.error(prefix + m),
        tagged: (t) => createLogger(sink, tag ? `${tag}/${t}` : t)
    };
}

/**
 * Tells the user something once, as a `window/showMessage` notification: every LSP client shows
 * it, and unlike `window/showMessageRequest` it needs no answer (a client without that request
 * cannot fail it).
 */
export function tellUser(connection: Connection, type: "error" | "warning" | "info", message: string) {
    const kind = type === "error" ? MessageType.Error : type === "warning" ? MessageType.Warning : MessageType.Info;
    void connection.sendNotification(ShowMessageNotification.type, { type: kind, message });
}

/**
 * A message told to the user once per distinct text, until `clear()` (say, a remote engine that
 * keeps failing the same way: one notification, not one per keystroke); logged every time.
 */
export class OnceNotice {
    private last?: string;

    constructor(
        private readonly connection: Connection,
        private readonly log: Logger,
        private readonly type: "error" | "warning" | "info",
        /** Put before the message in the log. */
        private readonly logPrefix = ""
    ) {}

    tell(message: string) {
        this.log.warn(this.logPrefix + message);
        if (message === this.last) return;
        this.last = message;
        tellUser(this.connection, this.type, `MoE Pilot: ${message}`);
    }

    clear() {
        this.last = undefined;
    }
}
