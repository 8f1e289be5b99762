/**
 * A bare JSON-RPC peer over the server's stdio for the fuzzers: frames in, frames out, nothing
 * validated or tidied up, so hostile bytes reach the server as they were written.
 */
import type { ChildProcess } from "node:child_process";

export type Message = {
    id?: number | string | null;
    method?: string;
    result?: unknown;
    error?: { code: number; message: string };
    params?: unknown;
};

/** Frames in, frames out; the server's own requests get an empty answer. */
export class RawPeer {
    private buffer = Buffer.alloc(0);
    readonly received: Message[] = [];
    private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
    exited: number | null | undefined;
    /** The signal that ended the server, if one did (a native crash: SIGSEGV, SIGABRT). */
    signal: NodeJS.Signals | null = null;

    constructor(readonly child: ChildProcess) {
        child.stdout!.on("data", (d: Buffer) => {
            this.buffer = Buffer.concat([this.buffer, d]);
            this.parse();
        });
        child.once("exit", (code, signal) => {
            this.exited = code;
            this.signal = signal;
        });
    }

    private parse() {
        for (;;) {
            const headerEnd = this.buffer.indexOf("\r\n\r\n");
            if (headerEnd < 0) return;
            const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString())?.[1]);
            if (this.buffer.length < headerEnd + 4 + length) return;
            const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString();
            this.buffer = this.buffer.subarray(headerEnd + 4 + length);
            const message = JSON.parse(body) as Message;
            this.received.push(message);
            // the server's own requests (configuration, progress tokens, registration) get an empty answer
            if (message.method && message.id !== undefined) this.send({ jsonrpc: "2.0", id: message.id, result: null });
            this.waiters = this.waiters.filter((w) => (w.match(message) ? (w.resolve(message), false) : true));
        }
    }

    sendRaw(body: Buffer | string, header?: string) {
        const bytes = typeof body === "string" ? Buffer.from(body) : body;
        this.child.stdin!.write(
            Buffer.concat([Buffer.from(header ?? `Content-Length: ${bytes.length}\r\n\r\n`), bytes])
        );
    }

    send(message: object) {
        this.sendRaw(JSON.stringify(message));
    }

    wait(match: (m: Message) => boolean, what: string, timeoutMs = 60_000): Promise<Message> {
        const seen = this.received.find(match);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
            this.waiters.push({
                match,
                resolve: (m) => {
                    clearTimeout(timer);
                    resolve(m);
                }
            });
        });
    }

    private nextId = 1000;
    /** A request; resolves with its response (result or error). */
    request(method: string, params: unknown): Promise<Message> {
        const id = this.nextId++;
        this.send({ jsonrpc: "2.0", id, method, params });
        return this.wait((m) => m.id === id && m.method === undefined, `the answer to ${method} #${id}`);
    }
}
