/**
 * `moePilot/nextEdit`: after the user's edits, the edit they will likely make next, as a pipeline
 * read top to bottom:
 *
 *   edit history (editHistory.ts, fed by every document change) → cache → the format for the
 *   model (nextEditFormats.ts) → its regions, in order → the backend rewrites one (completion
 *   workload, compute lane at completion priority) → the region's new lines → one edit
 *   (candidates.ts `regionEdit`) → checks: not cut short, not undoing the user's edit, no new
 *   syntax error where a parser can tell → `{ items }`
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
import { applyEdit, regionEdit } from "./candidates";
import type { EditHistory } from "./editHistory";
import { nextEditFormat, type NextEditInput } from "./nextEditFormats";

/** Tokens a region's rewrite may take: its characters over two (code runs 3–4 a token), and some room for what it adds. */
const tokensFor = (chars: number) => Math.min(512, Math.ceil(chars / 2) + 32);

export class NextEditFeature implements Feature {
    private inFlight?: AbortController;
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
        const cursor = {
            line: Math.min(Math.max(0, params.position?.line ?? 0), doc.lineCount - 1),
            character: Math.max(0, params.position?.character ?? 0)
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
        const deadline = performance.now() + settings.timeBudgetMs;
        let items: NextEditItem[] = [];
        let tried = 0;
        for (const region of format.regions(input)) {
            const left = deadline - performance.now();
            if (left <= 0) break;
            tried++;
            const original = lines.slice(region.start, region.end);
            const output = await backend.rewrite({
                prompt: format.prompt(input, region),
                maxTokens: tokensFor(original.join("\n").length),
                timeBudgetMs: left,
                signal,
                stop: format.stop
            });
            signal.throwIfAborted();
            if (output.cancelled) return [];
            this.log.debug(`next edit (${format.name}) at lines ${region.start + 1}-${region.end}: ${output.summary}`);
            // Cut short, an answer would propose deleting what it did not reach.
            if (!output.ended) continue;
            const rewritten = format.parse(output.text, input, region);
            const edit = rewritten && regionEdit(original, rewritten, region.start);
            if (!edit || this.undoes(edit, input) || !(await this.keepsSyntax(doc, lines, edit))) continue;
            items = [edit];
            break;
        }
        this.log.debug(`next edit: ${items.length > 0 ? "proposed" : "nothing"} after ${tried} region(s)`);
        this.cache.set(key, items);
        return items;
    }

    /** The edit puts back what the user just changed. */
    private undoes(edit: NextEditItem, input: NextEditInput): boolean {
        const own = input.edits[0]!;
        const after = applyEdit(input.lines, edit);
        return own.before.every((l, i) => after[own.line + i] === l) && own.before.length > 0;
    }

    /** No syntax error that the document did not have already (where a grammar can tell). */
    private async keepsSyntax(doc: TextDocument, lines: string[], edit: NextEditItem): Promise<boolean> {
        const before = await this.workspace.syntaxErrors(doc.uri, lines.join("\n"));
        if (before === undefined) return true;
        const after = await this.workspace.syntaxErrors(doc.uri, applyEdit(lines, edit).join("\n"));
        return after === undefined || after <= before;
    }
}
