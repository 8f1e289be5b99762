/**
 * `moePilot/nextEdit`: after the user's edits, the edit they will likely make next, as a pipeline
 * read top to bottom:
 *
 *   edit history (editHistory.ts, fed by every document change) → cache → the format for the
 *   model (nextEditFormats.ts) → proposeNextEdit.ts: its regions in order, each rewritten by the
 *   backend (completion workload, compute lane at completion priority) and checked → `{ items }`
 *
 * At most one request is in flight: a newer one aborts it, as `$/cancelRequest` does. An answer
 * is cached by the document's version and the cursor's line, so asking again without an edit
 * costs nothing.
 */
import { LRUCache } from "lru-cache";
import type {
    CancellationToken,
    ClientCapabilities,
    Connection,
    ServerCapabilities,
    TextDocuments
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { EngineFeature } from "../engine/EngineFeature";
import { errorMessage, isAbort } from "../errors";
import type { Feature } from "../feature";
import type { Logger } from "../log";
import { type NextEditItem, type NextEditParams, NextEditRequest, type Settings } from "../protocol";
import type { WorkspaceFeature } from "../workspace/WorkspaceFeature";
import type { EditHistory } from "./editHistory";
import { nextEditFormat, type NextEditInput } from "./nextEditFormats";
import { proposeNextEdit } from "./proposeNextEdit";

export class NextEditFeature implements Feature {
    private inFlight?: AbortController;
    /** The backend whose model has no next-edit format, once said in the log. */
    private noFormatFor?: string;
    private readonly cache = new LRUCache<string, NextEditItem[]>({ max: 64 });

    constructor(
        private readonly connection: Connection,
        private readonly documents: TextDocuments<TextDocument>,
        private readonly engine: EngineFeature,
        private readonly workspace: WorkspaceFeature,
        private readonly history: EditHistory,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {}

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
        this.connection.onRequest(NextEditRequest.type, (params, token) => this.provide(params, token));
        return {};
    }

    async provide(params: NextEditParams, token: CancellationToken): Promise<{ items: NextEditItem[] }> {
        this.inFlight?.abort();
        const controller = new AbortController();
        this.inFlight = controller;
        const subscription = token.onCancellationRequested(() => controller.abort());
        try {
            return { items: await this.propose(params, controller.signal) };
        } catch (e: unknown) {
            if (!isAbort(e) && !controller.signal.aborted) this.log.error(`next edit failed: ${errorMessage(e)}`);
            return { items: [] };
        } finally {
            subscription.dispose();
            if (this.inFlight === controller) this.inFlight = undefined;
        }
    }

    private async propose(params: NextEditParams, signal: AbortSignal): Promise<NextEditItem[]> {
        const settings = this.getSettings().nextEdit;
        const uri = params?.textDocument?.uri;
        const doc = typeof uri === "string" ? this.documents.get(uri) : undefined;
        const backend = this.engine.backend;
        if (!settings.enabled || !doc || !backend) return [];
        const edits = this.history.recent(doc.uri);
        // Nothing edited in this document: nothing follows from it.
        if (edits[0]?.uri !== doc.uri) return [];
        // A hostile or malformed position is the start of the document.
        const whole = (n: unknown) => (Number.isInteger(n) && (n as number) > 0 ? (n as number) : 0);
        const cursor = {
            line: Math.min(whole(params.position?.line), doc.lineCount - 1),
            character: whole(params.position?.character)
        };
        const key = `${backend.identity}|${settings.format}|${doc.uri}@${doc.version}|${cursor.line}`;
        const cached = this.cache.get(key);
        if (cached) return cached;

        const lines = doc.getText().split(/\r?\n/);
        const pathOf = (u: string) => this.workspace.promptPath(u) ?? u.split("/").pop() ?? u;
        const input: NextEditInput = {
            path: pathOf(doc.uri),
            lines,
            edits: edits.map((e) => ({ ...e, path: pathOf(e.uri) })),
            cursor
        };
        const model = backend.status.model;
        const format = nextEditFormat(settings.format, model.name, model.path);
        if (!format) {
            if (this.noFormatFor !== backend.identity) {
                this.noFormatFor = backend.identity;
                this.log.info(
                    `next edits: ${model.name} was not trained for them in any format the server knows (MoE Pilot's demo model, Zed's Zeta, Sweep's): none are proposed; moePilot.nextEdit.format can ask it in one`
                );
            }
            return [];
        }
        const { edit, tried, cancelled } = await proposeNextEdit(input, format, {
            rewrite: (request) => backend.rewrite({ ...request, signal }),
            syntaxErrors: (text) => this.workspace.syntaxErrors(doc.uri, text),
            timeBudgetMs: settings.timeBudgetMs,
            log: (line) => this.log.debug(line)
        });
        signal.throwIfAborted();
        if (cancelled) return []; // the model was unloaded meanwhile: nothing to remember
        const items = edit ? [edit] : [];
        this.log.debug(`next edit: ${edit ? "proposed" : "nothing"} after ${tried} region(s)`);
        this.cache.set(key, items);
        return items;
    }
}
