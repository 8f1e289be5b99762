/**
 * A real LSP client for the server tests: spawns `node dist/server.js --stdio` and speaks
 * JSON-RPC to it over the child's stdio, as any editor would. Waits are on events, never sleeps.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
    type CancellationTokenSource,
    createProtocolConnection,
    type InitializeResult,
    type InlineCompletionList,
    InlineCompletionRequest,
    InlineCompletionTriggerKind,
    InitializeRequest,
    LogMessageNotification,
    type LogMessageParams,
    type ProtocolConnection,
    ShowMessageNotification,
    type ShowMessageParams,
    StreamMessageReader,
    StreamMessageWriter,
    DidOpenTextDocumentNotification,
    DidChangeTextDocumentNotification,
    DidCloseTextDocumentNotification,
    InitializedNotification,
    ShutdownRequest,
    ExitNotification,
    type Position,
    WorkDoneProgress,
    WorkDoneProgressCreateRequest,
    ConfigurationRequest
} from "vscode-languageserver-protocol/node";
import {
    type ChatChunk,
    type ChatParams,
    ChatRequest,
    type ChatResult,
    type InitializationOptions,
    StatusNotification,
    type StatusParams
} from "../../server/protocol";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const SERVER = path.join(ROOT, "dist", "server.js");
/** The chat seed every test server runs with (`moePilot.chat.seed`). */
export const TEST_SEED = 1234;

export const TEST_MODELS = {
    moe: path.join(ROOT, "models", "test", "moe-pilot-test-moe.gguf"),
    dense: path.join(ROOT, "models", "test", "moe-pilot-test-dense.gguf"),
    /** Built to repeat one line forever, and to write a fence then a turn header of its own (pipeline/makeTestModel.ts). */
    loop: path.join(ROOT, "models", "test", "moe-pilot-test-loop.gguf"),
    turns: path.join(ROOT, "models", "test", "moe-pilot-test-turns.gguf"),
    /** Writes `<s>old</s>` on each line, with Qwen's vocabulary (`</s>` is text there). */
    strike: path.join(ROOT, "models", "test", "moe-pilot-test-strike.gguf")
};

type Waiter<T> = { match: (v: T) => boolean; resolve: (v: T) => void };

/** Collects a stream of values and lets a test wait for the first one that matches. */
class Recorder<T> {
    readonly all: T[] = [];
    private waiters: Waiter<T>[] = [];
    push(v: T) {
        this.all.push(v);
        this.waiters = this.waiters.filter((w) => (w.match(v) ? (w.resolve(v), false) : true));
    }
    next(match: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
            this.waiters.push({
                match,
                resolve: (v) => {
                    clearTimeout(timer);
                    resolve(v);
                }
            });
        });
    }
    /** The first matching value already seen, or the next one. */
    find(match: (v: T) => boolean, what: string, timeoutMs?: number): Promise<T> {
        const seen = this.all.find(match);
        return seen ? Promise.resolve(seen) : this.next(match, what, timeoutMs);
    }
}

export class TestClient {
    readonly status = new Recorder<StatusParams>();
    readonly logs = new Recorder<LogMessageParams>();
    readonly messages = new Recorder<ShowMessageParams>();
    readonly progress = new Recorder<unknown>();
    private versions = new Map<string, number>();
    private exited: Promise<number | null>;

    private constructor(
        readonly process: ChildProcess,
        readonly connection: ProtocolConnection
    ) {
        this.exited = new Promise((resolve) => process.once("exit", (code) => resolve(code)));
        connection.onNotification(StatusNotification.type, (p) => this.status.push(p));
        connection.onNotification(LogMessageNotification.type, (p) => this.logs.push(p));
        connection.onNotification(ShowMessageNotification.type, (p) => this.messages.push(p));
        // Work-done progress the server creates (model loading): follow each token it announces.
        connection.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
            connection.onProgress(WorkDoneProgress.type, token, (value) => this.progress.push({ token, value }));
        });
    }

    /**
     * Starts the server and runs `initialize`/`initialized`. `configuration` answers `workspace/configuration` when given (a function: per section);
     * `env` adds to the server's environment (MOE_PILOT_NATIVE=off: the stock llama.cpp binaries).
     */
    static async start(
        init: InitializationOptions = {},
        configuration?: unknown,
        env: NodeJS.ProcessEnv = {},
        workspaceFolders: string[] = []
    ): Promise<TestClient> {
        const child = spawn(process.execPath, [SERVER, "--stdio"], {
            stdio: ["pipe", "pipe", "pipe"],
            env: { ...process.env, ...env }
        });
        let stderr = "";
        child.stderr!.on("data", (d: Buffer) => {
            stderr += d.toString();
        });
        child.once("exit", (code, signal) => {
            if (code && code !== 0) console.error(`server exited ${code ?? signal}: ${stderr}`);
        });
        const connection = createProtocolConnection(
            new StreamMessageReader(child.stdout!),
            new StreamMessageWriter(child.stdin!)
        );
        const client = new TestClient(child, connection);
        if (configuration !== undefined)
            connection.onRequest(ConfigurationRequest.type, (p) =>
                p.items.map((item) =>
                    typeof configuration === "function"
                        ? (configuration as (section?: string) => unknown)(item.section)
                        : configuration
                )
            );
        connection.listen();
        client.initializeResult = await connection.sendRequest(InitializeRequest.type, {
            processId: process.pid,
            rootUri: null,
            workspaceFolders: workspaceFolders.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })),
            capabilities: {
                window: { workDoneProgress: true },
                workspace: { configuration: configuration !== undefined, workspaceFolders: true },
                textDocument: { inlineCompletion: { dynamicRegistration: false } }
            },
            // Tests run seeded: a sampled chat answer is the same on every run.
            initializationOptions: {
                extensionRoot: ROOT,
                ...init,
                settings: { ...init.settings, chat: { seed: TEST_SEED, ...init.settings?.chat } }
            }
        });
        await connection.sendNotification(InitializedNotification.type, {});
        return client;
    }

    initializeResult?: InitializeResult;

    /** The first status in a final state (ready or error) after start. */
    settled(): Promise<StatusParams> {
        return this.status.find((s) => s.state === "ready" || s.state === "error", "the model to load or fail");
    }

    open(uri: string, text: string, languageId = "typescript") {
        this.versions.set(uri, 1);
        return this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri, languageId, version: 1, text }
        });
    }

    /** An incremental edit: replace `range` with `text`. */
    edit(uri: string, range: { start: Position; end: Position }, text: string) {
        const version = (this.versions.get(uri) ?? 1) + 1;
        this.versions.set(uri, version);
        return this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
            textDocument: { uri, version },
            contentChanges: [{ range, text }]
        });
    }

    close(uri: string) {
        return this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    }

    complete(
        uri: string,
        position: Position,
        token?: CancellationTokenSource,
        triggerKind: InlineCompletionTriggerKind = InlineCompletionTriggerKind.Invoked
    ): Promise<InlineCompletionList | null> {
        return this.connection.sendRequest(
            InlineCompletionRequest.type,
            {
                textDocument: { uri },
                position,
                context: { triggerKind }
            },
            token?.token
        ) as Promise<InlineCompletionList | null>;
    }

    private chatCounter = 0;

    /** A chat request with streaming: `onChunk` sees each `$/progress` partial result as it arrives. */
    chat(
        params: Omit<ChatParams, "partialResultToken">,
        onChunk: (chunk: ChatChunk) => void = () => {},
        cancel?: CancellationTokenSource
    ): Promise<ChatResult> {
        const partialResultToken = `chat-${++this.chatCounter}`;
        const subscription = this.connection.onProgress(ChatRequest.partialResult, partialResultToken, onChunk);
        return this.connection
            .sendRequest(ChatRequest.type, { ...params, partialResultToken }, cancel?.token)
            .finally(() => subscription.dispose());
    }

    /** `shutdown` then `exit`; resolves with the server's exit code. */
    async stop(): Promise<number | null> {
        await this.connection.sendRequest(ShutdownRequest.type);
        await this.connection.sendNotification(ExitNotification.type);
        const code = await this.exited;
        this.connection.dispose();
        return code;
    }

    kill() {
        this.process.kill("SIGKILL");
        this.connection.dispose();
    }
}
