/**
 * Whatever a client sends: LSP messages generated with fast-check from the protocol's own types
 * (InlineCompletionParams, DidChangeTextDocumentParams, ChatParams, the custom methods), with
 * hostile values in their fields, wrong types, bodies cut short, garbage, duplicated and
 * reordered lifecycle messages, bursts of `didChange` with random ranges, random
 * `$/cancelRequest`s and requests for closed documents — against the real server with the real
 * (embedded) model, over raw stdio frames.
 *
 * The property, per batch of generated actions: the server is still running, every request it
 * was sent is answered (a result or an error) within HANG_MS, and every document it holds
 * (`moePilot/document/text`) is the text a reference model of the edits computes — written here
 * from the LSP specification (clamped positions, swapped ranges), not with the server's library.
 *
 *   FUZZ_MESSAGES=10000 FUZZ_SEED=123 node --import tsx --test test/server/generatedFuzz.test.ts
 *
 * The seed is printed (and in every failure), so a failure replays.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type {
    DidChangeTextDocumentParams,
    DidOpenTextDocumentParams,
    InlineCompletionParams,
    Position,
    TextDocumentContentChangeEvent
} from "vscode-languageserver-protocol";
import type { ChatParams, DocumentTextResult } from "../../server/protocol";
import { ROOT, SERVER } from "./lspClient";
import { type Message, RawPeer } from "./rawPeer";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Messages per run: the suite's size runs in under a minute; docs/RELIABILITY.md has a 10,000+ run. */
const MESSAGES = Number(process.env.FUZZ_MESSAGES ?? 1500);
const ACTIONS_PER_BATCH = 60;
/** A request not answered this long after its batch was sent is a hang. */
const HANG_MS = 60_000;
const INITIALIZE = {
    processId: null,
    rootUri: null,
    capabilities: { window: { workDoneProgress: true } },
    initializationOptions: {
        extensionRoot: ROOT,
        settings: { completion: { debounceMs: 0, maxTokens: 8, timeBudgetMs: 300 } }
    }
};
/** A value as the server receives it: what survives JSON (NaN and Infinity become null, undefined goes). */
const onTheWire = <T>(value: T): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

// ---------------------------------------------------------------------------------------------
// The reference model: documents as the LSP specification says incremental sync edits them.
// ---------------------------------------------------------------------------------------------

const isEol = (c: string | undefined) => c === "\n" || c === "\r";

function lineStarts(text: string): number[] {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
        if (text[i] === "\r" && text[i + 1] === "\n") i++;
        if (isEol(text[i])) starts.push(i + 1);
    }
    return starts;
}

/** A position as an offset: a line past the end is the end; a character past the line is the line's end. */
function offsetAt(text: string, p: Position): number {
    const starts = lineStarts(text);
    if (p.line >= starts.length) return text.length;
    const start = starts[p.line]!;
    if (p.character <= 0) return start;
    const next = p.line + 1 < starts.length ? starts[p.line + 1]! : text.length;
    let offset = Math.min(start + p.character, next);
    while (offset > start && isEol(text[offset - 1])) offset--;
    return offset;
}

const before_ = (a: Position, b: Position) => a.line < b.line || (a.line === b.line && a.character <= b.character);
const isPosition = (p: unknown): p is Position =>
    Number.isInteger((p as Position)?.line) &&
    Number.isInteger((p as Position)?.character) &&
    (p as Position).line >= 0 &&
    (p as Position).character >= 0;

/** One change applied as the specification says; a malformed one is dropped (the server's policy). */
function applyChange(text: string, change: unknown): string {
    const c = change as { text?: unknown; range?: { start?: unknown; end?: unknown } } | null;
    if (!c || typeof c.text !== "string") return text;
    if (c.range === undefined) return c.text;
    const { start, end } = c.range ?? {};
    if (!isPosition(start) || !isPosition(end)) return text;
    const [from, to] = before_(start, end) ? [start, end] : [end, start];
    return text.slice(0, offsetAt(text, from)) + c.text + text.slice(offsetAt(text, to));
}

type Model = Map<string, string>;

// ---------------------------------------------------------------------------------------------
// Generated messages: the protocol's shapes, each field sometimes hostile.
// ---------------------------------------------------------------------------------------------

/** Values of the wrong type or absurd size, for any field. */
const hostileValue = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.constantFrom(-1, 1e308, -0, 2 ** 53, Number.MAX_SAFE_INTEGER),
    fc.string({ maxLength: 40 }),
    fc.constantFrom("<|fim_middle|>", "\u0000\uFFFF\uD800", "../../etc/passwd", "$(rm -rf /)"),
    fc.array(fc.integer(), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 3 })
);
/** `arb`, or one time in `1 / weight` a hostile value instead. */
const maybeHostile = <T>(arb: fc.Arbitrary<T>, weight = 8): fc.Arbitrary<unknown> =>
    fc.oneof({ arbitrary: arb, weight }, { arbitrary: hostileValue, weight: 1 });

const CODE_CHARS = [..."abcdefxyz_ (){}[];:=+-*/.,'\"\t\n\n\n"].concat(["\r\n", "é", "😀", "  "]);
const codeText = fc.array(fc.constantFrom(...CODE_CHARS), { maxLength: 200 }).map((parts) => parts.join(""));
const position = (maxLine: number) =>
    fc.record({ line: fc.nat(maxLine + 3), character: fc.nat(80) }) as fc.Arbitrary<Position>;
const change: fc.Arbitrary<unknown> = fc.oneof(
    {
        weight: 8,
        arbitrary: fc.record({ range: fc.record({ start: position(12), end: position(12) }), text: codeText })
    },
    { weight: 1, arbitrary: fc.record({ text: codeText }) },
    {
        weight: 1,
        arbitrary: fc.record({
            range: maybeHostile(fc.record({ start: position(5), end: maybeHostile(position(5)) }), 1),
            text: maybeHostile(codeText, 2)
        })
    }
);

type Action =
    | { kind: "open"; doc: number; text: unknown; languageId: unknown; version: unknown }
    | { kind: "change"; doc: number; version: unknown; changes: unknown }
    | { kind: "close"; doc: number }
    | { kind: "complete"; doc: number; position: unknown; triggerKind: unknown; then: Then }
    | { kind: "chat"; params: unknown; then: Then }
    | { kind: "request"; method: string; params: unknown }
    | { kind: "cancel"; id: unknown }
    | { kind: "notify"; method: string; params: unknown }
    | { kind: "lifecycle"; which: "initialize" | "initialized" }
    | { kind: "truncated"; body: string; keep: number }
    | { kind: "garbage"; bytes: Uint8Array };

/** After a completion or a chat: cancel it, wait for its answer (as a user pausing does), or go on typing (a newer request aborts it). */
type Then = "cancel" | "wait" | "go-on";
const then = fc.constantFrom<Then>("cancel", "wait", "wait", "go-on");

const DOCS = 4;
const doc = fc.nat(DOCS - 1);

const action: fc.Arbitrary<Action> = fc.oneof(
    {
        weight: 3,
        arbitrary: fc.record({
            kind: fc.constant("open" as const),
            doc,
            text: maybeHostile(codeText, 12),
            languageId: maybeHostile(fc.constantFrom("typescript", "python")),
            version: maybeHostile(fc.nat(100))
        })
    },
    {
        weight: 10,
        arbitrary: fc.record({
            kind: fc.constant("change" as const),
            doc,
            version: maybeHostile(fc.nat(1000), 12),
            changes: maybeHostile(fc.array(change, { minLength: 1, maxLength: 20 }), 12)
        })
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("close" as const), doc }) },
    {
        weight: 4,
        arbitrary: fc.record({
            kind: fc.constant("complete" as const),
            doc: fc.nat(DOCS), // DOCS itself: a document never opened
            position: maybeHostile(position(12)),
            triggerKind: maybeHostile(fc.constantFrom(1, 2)),
            then
        })
    },
    {
        weight: 1,
        arbitrary: fc.record({
            kind: fc.constant("chat" as const),
            params: maybeHostile(
                fc.record({
                    messages: maybeHostile(
                        fc.array(
                            fc.record({
                                role: maybeHostile(fc.constantFrom("user", "assistant"), 12),
                                content: maybeHostile(codeText, 12)
                            }),
                            { minLength: 1, maxLength: 3 }
                        )
                    ),
                    attachments: fc.option(
                        fc.array(
                            fc.record({
                                kind: maybeHostile(fc.constantFrom("selection", "file", "diagnostics", "workspace")),
                                label: maybeHostile(fc.string()),
                                text: maybeHostile(codeText)
                            }),
                            { maxLength: 2 }
                        ),
                        { nil: undefined }
                    ),
                    k: fc.option(maybeHostile(fc.constantFrom<"auto" | number>("auto", 1, 2, 8, 99)), {
                        nil: undefined
                    }),
                    maxTokens: maybeHostile(fc.integer({ min: 1, max: 4 })),
                    workspace: fc.option(maybeHostile(fc.boolean()), { nil: undefined })
                } satisfies Record<keyof Omit<ChatParams, "partialResultToken" | "workDoneToken">, unknown>),
                6
            ),
            then
        })
    },
    {
        weight: 3,
        arbitrary: fc.record({
            kind: fc.constant("request" as const),
            method: fc.constantFrom(
                "moePilot/status/get",
                "moePilot/routing/stats",
                "moePilot/models/list",
                "moePilot/model/inspect",
                "moePilot/model/card",
                "moePilot/document/text",
                "moePilot/nextEdit",
                "textDocument/codeAction",
                "workspace/executeCommand",
                "textDocument/hover",
                "no/such/method"
            ),
            params: maybeHostile(
                fc.record({
                    textDocument: fc.record({
                        uri: maybeHostile(fc.constantFrom("file:///fuzz/0.ts", "file:///nowhere.ts"))
                    }),
                    range: maybeHostile(fc.record({ start: position(5), end: position(5) })),
                    position: maybeHostile(position(5)),
                    path: maybeHostile(fc.constantFrom("/nonexistent.gguf", "/etc/hostname", "")),
                    context: maybeHostile(fc.record({ diagnostics: fc.constant([]) }))
                }),
                3
            )
        })
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), id: maybeHostile(fc.nat(5000), 3) }) },
    {
        weight: 1,
        arbitrary: fc.record({
            kind: fc.constant("notify" as const),
            method: fc.constantFrom(
                "workspace/didChangeConfiguration",
                "$/setTrace",
                "textDocument/didSave",
                "no/such/notification"
            ),
            // settings of the wrong type only: a valid new model path would reload for seconds
            params: maybeHostile(
                fc.record({
                    settings: fc.record({
                        moePilot: maybeHostile(
                            fc.record({
                                threads: hostileValue,
                                completion: maybeHostile(
                                    fc.record({
                                        maxTokens: fc.constantFrom(0, -5, "x", 1e9),
                                        experts: fc.constantFrom("many", 0, null)
                                    }),
                                    2
                                )
                            }),
                            2
                        )
                    })
                }),
                2
            )
        })
    },
    {
        weight: 1,
        arbitrary: fc.record({
            kind: fc.constant("lifecycle" as const),
            // `initialized` again loads the model again: rarer
            which: fc.oneof(
                { weight: 4, arbitrary: fc.constant("initialize" as const) },
                { weight: 1, arbitrary: fc.constant("initialized" as const) }
            )
        })
    },
    {
        weight: 1,
        arbitrary: fc
            .record({
                kind: fc.constant("truncated" as const),
                body: fc.json(),
                share: fc.double({ min: 0, max: 0.95, noNaN: true })
            })
            .map(({ kind, body, share }) => ({ kind, body, keep: Math.max(1, Math.floor(body.length * share)) }))
    },
    {
        weight: 1,
        arbitrary: fc.record({
            kind: fc.constant("garbage" as const),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 64 })
        })
    }
);

// ---------------------------------------------------------------------------------------------
// Running actions against the server, and against the model.
// ---------------------------------------------------------------------------------------------

class Run {
    /** Requests sent and not yet answered, by id. */
    readonly pending = new Map<number, string>();
    /** What each answered request got: for the figures (how much of it reached the model). */
    readonly outcomes: { method: string; error: boolean; result: unknown }[] = [];
    messages = 0;
    private nextId = 1;

    constructor(
        private readonly peer: RawPeer,
        private readonly model: Model,
        private readonly batch: number
    ) {}

    uri(d: number) {
        return `file:///fuzz/${this.batch}/${d}.ts`;
    }

    get requestsSent(): number {
        return this.nextId - 1;
    }

    private request(method: string, params: unknown): number {
        const id = this.nextId++ + this.batch * 100_000;
        this.pending.set(id, method);
        this.peer.send({ jsonrpc: "2.0", id, method, params });
        this.messages++;
        return id;
    }

    private notify(method: string, params: unknown) {
        this.peer.send({ jsonrpc: "2.0", method, params });
        this.messages++;
    }

    /** Requests still unanswered HANG_MS after a wait. */
    readonly hung: string[] = [];

    private async then(id: number, then: Then) {
        if (then === "cancel") this.notify("$/cancelRequest", { id });
        if (then === "wait") this.hung.push(...(await this.answered()));
    }

    async do(a: Action) {
        const uri = this.uri("doc" in a ? a.doc : 0);
        switch (a.kind) {
            case "open": {
                const params = { textDocument: { uri, languageId: a.languageId, version: a.version, text: a.text } };
                this.notify("textDocument/didOpen", params as unknown as DidOpenTextDocumentParams);
                const text = onTheWire(a.text);
                this.model.set(uri, typeof text === "string" ? text : "");
                return;
            }
            case "change": {
                const params = { textDocument: { uri, version: a.version }, contentChanges: a.changes };
                this.notify("textDocument/didChange", params as unknown as DidChangeTextDocumentParams);
                const text = this.model.get(uri);
                const changes = onTheWire(a.changes) as TextDocumentContentChangeEvent[] | undefined;
                const version = onTheWire(a.version);
                // The document store ignores an empty change list and a change without a version.
                if (text === undefined || !changes?.length || version === null || version === undefined) return;
                this.model.set(uri, Array.isArray(changes) ? changes.reduce<string>(applyChange, text) : text);
                return;
            }
            case "close":
                this.notify("textDocument/didClose", { textDocument: { uri } });
                this.model.delete(uri);
                return;
            case "complete": {
                const params = { textDocument: { uri }, position: a.position, context: { triggerKind: a.triggerKind } };
                const id = this.request("textDocument/inlineCompletion", params as unknown as InlineCompletionParams);
                return this.then(id, a.then);
            }
            case "chat": {
                const id = this.request("moePilot/chat/send", a.params);
                return this.then(id, a.then);
            }
            case "request":
                this.request(a.method, a.params);
                return;
            case "cancel":
                this.notify("$/cancelRequest", { id: a.id });
                return;
            case "notify":
                this.notify(a.method, a.params);
                return;
            case "lifecycle":
                if (a.which === "initialize") this.request("initialize", INITIALIZE);
                else this.notify("initialized", {});
                return;
            case "truncated":
                this.peer.sendRaw(a.body.slice(0, a.keep));
                this.messages++;
                return;
            case "garbage":
                this.peer.sendRaw(Buffer.from(a.bytes));
                this.messages++;
                return;
        }
    }

    /** Waits until every request is answered; the ones that were not, after HANG_MS. */
    async answered(): Promise<string[]> {
        const deadline = Date.now() + HANG_MS;
        const isAnswer = (m: Message) => m.method === undefined && typeof m.id === "number";
        for (;;) {
            for (const m of this.peer.received.splice(0)) {
                if (!isAnswer(m)) continue;
                const method = this.pending.get(m.id as number);
                this.pending.delete(m.id as number);
                if (method) this.outcomes.push({ method, error: m.error !== undefined, result: m.result });
            }
            if (this.pending.size === 0 || Date.now() > deadline || this.peer.exited !== undefined)
                return [...this.pending.entries()].map(([id, method]) => `${method} #${id}`);
            await new Promise((r) => setTimeout(r, 20));
        }
    }
}

describe("generated LSP messages against the real server", { timeout: 30 * 60_000 }, () => {
    let peer: RawPeer;
    const totals = {
        messages: 0,
        requests: 0,
        batches: 0,
        documentsChecked: 0,
        suggestions: 0,
        chatAnswers: 0,
        errors: 0
    };

    before(async () => {
        const child = spawn(process.execPath, [SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
        child.stderr!.on("data", (d: Buffer) => {
            if (process.env.FUZZ_DEBUG) process.stderr.write(d);
        });
        peer = new RawPeer(child);
        const init = await peer.request("initialize", INITIALIZE);
        assert.equal(init.error, undefined);
        peer.send({ jsonrpc: "2.0", method: "initialized", params: {} });
    });

    after(() => peer?.child.kill("SIGKILL"));

    test(`${MESSAGES}+ generated messages: no crash, no hang, every request answered, documents as the edits say (seed ${SEED})`, async (t) => {
        t.diagnostic(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays it)`);
        const started = performance.now();
        // every action sends at least one message
        const batches = Math.ceil(MESSAGES / ACTIONS_PER_BATCH);
        let batch = 0;
        const property = fc.assert(
            fc.asyncProperty(
                fc.array(action, { minLength: ACTIONS_PER_BATCH, maxLength: ACTIONS_PER_BATCH }),
                async (actions) => {
                    const model: Model = new Map();
                    const run = new Run(peer, model, ++batch);
                    let requests = 0;
                    for (const a of actions) {
                        await run.do(a);
                        requests = Math.max(requests, run.requestsSent);
                    }
                    const unanswered = await run.answered();
                    assert.equal(
                        peer.exited,
                        undefined,
                        `the server is still running (it ended with ${peer.signal ?? peer.exited})`
                    );
                    assert.deepEqual([...run.hung, ...unanswered], [], "every request is answered");
                    // The documents: every one the model holds, and the ones it does not (closed or never opened).
                    for (let d = 0; d <= DOCS; d++) {
                        const uri = run.uri(d);
                        const held = (await peer.request("moePilot/document/text", { uri }))
                            .result as DocumentTextResult;
                        assert.equal(held?.text, model.get(uri), `${uri} as the edits say`);
                    }
                    totals.messages += run.messages + DOCS + 1;
                    totals.requests += requests + DOCS + 1;
                    totals.batches++;
                    for (const o of run.outcomes) {
                        if (o.error) totals.errors++;
                        const items = (o.result as { items?: { insertText?: unknown }[] } | null)?.items;
                        if (o.method === "textDocument/inlineCompletion" && items?.some((i) => i.insertText))
                            totals.suggestions++;
                        if (o.method === "moePilot/chat/send" && (o.result as { text?: string } | null)?.text)
                            totals.chatAnswers++;
                    }
                    totals.documentsChecked += DOCS + 1;
                }
            ),
            { seed: SEED, numRuns: batches, endOnFailure: true }
        );
        // fast-check keeps what failed in the error's cause: say it first (the counterexample is long).
        await property.catch((e: unknown) => {
            const cause = (e as { cause?: unknown }).cause;
            throw new Error(`${cause instanceof Error ? cause.message : String(cause)} (seed ${SEED})`, { cause: e });
        });
        const seconds = (performance.now() - started) / 1000;
        t.diagnostic(
            `fuzz: ${totals.messages} messages (${totals.requests} requests) in ${totals.batches} batches, ${seconds.toFixed(0)} s; 0 crashes, 0 hangs, every request answered (${totals.errors} with an error, ${totals.suggestions} completions with a suggestion, ${totals.chatAnswers} chat answers from the model); ${totals.documentsChecked} documents checked against the reference model`
        );
        assert.ok(totals.messages >= MESSAGES, `${totals.messages} messages`);
    });

    test("and then it still completes normally", async () => {
        const uri = "file:///fuzz/after.py";
        peer.send({
            jsonrpc: "2.0",
            method: "textDocument/didOpen",
            params: { textDocument: { uri, languageId: "python", version: 1, text: "def add(a, b):\n    return " } }
        });
        const r = await peer.request("textDocument/inlineCompletion", {
            textDocument: { uri },
            position: { line: 1, character: 11 },
            context: { triggerKind: 1 }
        });
        assert.equal(r.error, undefined, r.error?.message);
        assert.ok(Array.isArray((r.result as { items?: unknown[] } | null)?.items), "a completion list");
    });
});
