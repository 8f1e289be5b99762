/**
 * `textDocument/inlineCompletion` (LSP 3.18), as a pipeline read top to bottom:
 *
 *   prompt input (promptInput.ts) → cache / type-through (cache.ts) → debounce → the backend
 *   (local: FIM prompt, fimFormats.ts, and generate.ts on the compute lane; remote: /infill)
 *   → where it ends, what repeats (filters.ts) → item
 *
 * A newer request aborts the one in flight (the user typed on), and `$/cancelRequest` aborts it
 * too: the signal reaches the generation loop, which stops within one token.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
    type CancellationToken,
    type ClientCapabilities,
    type Connection,
    type InlineCompletionList,
    type InitializeParams,
    type InlineCompletionParams,
    InlineCompletionTriggerKind,
    type ServerCapabilities,
    type TextDocuments
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { CompletionOutput } from "../backend/Backend";
import type { EngineFeature } from "../engine/EngineFeature";
import { errorMessage, isAbort } from "../errors";
import type { Feature } from "../feature";
import { type Logger, OnceNotice } from "../log";
import { DefinitionsRequest, type Settings } from "../protocol";
import type { WorkspaceFeature } from "../workspace/WorkspaceFeature";
import { CompletionCache } from "./cache";
import { buildPromptInput, type PromptInput } from "./promptInput";
import { debounce } from "./debounce";
import { endOfSuggestion, postprocess } from "./filters";
import { memberAccessAt, usedNearby } from "./memberAccess";
import { type DefinitionLookup, RepositoryContext } from "./repositoryContext";

/** How long a completion waits for the editor's definitions. */
const DEFINITIONS_WAIT_MS = 250;
/** Lines above the cursor whose names make a member likelier after `object.` (with the cursor's line). */
const NEARBY_LINES = 5;

/** The middle of an identifier: completing there mostly fights the user. */
const INSIDE_WORD = { before: /\w$/, after: /^\w/ };

export class CompletionFeature implements Feature {
    private readonly cache = new CompletionCache();
    /** Most recently edited documents last; feeds the extra context. */
    private readonly recency = new Map<string, number>();
    private editCounter = 0;
    private inFlight?: AbortController;
    private cachedFor?: string;
    /** A failing backend (a remote engine down) is told once per distinct problem; the next success clears it. */
    private readonly failures: OnceNotice;
    private readonly repository: RepositoryContext;
    /** The client answers `moePilot/definitions` from the editor's language features. */
    private clientDefinitions = false;

    constructor(
        private readonly connection: Connection,
        private readonly documents: TextDocuments<TextDocument>,
        private readonly engine: EngineFeature,
        private readonly workspace: WorkspaceFeature,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {
        this.failures = new OnceNotice(connection, log, "warning", "completion failed: ");
        this.repository = new RepositoryContext(
            () => workspace.index,
            (file) => workspace.relativePath(file),
            (file, text, type) => workspace.memberNames(file, text, type)
        );
    }

    initialize(_capabilities: ClientCapabilities, params?: InitializeParams): ServerCapabilities {
        this.clientDefinitions =
            (params?.initializationOptions as { definitions?: unknown } | undefined)?.definitions === true;
        this.connection.languages.inlineCompletion.on((params, token) => this.provide(params, token));
        this.documents.onDidChangeContent((e) => this.recency.set(e.document.uri, ++this.editCounter));
        this.documents.onDidClose((e) => this.recency.delete(e.document.uri));
        return { inlineCompletionProvider: true };
    }

    async provide(params: InlineCompletionParams, token: CancellationToken): Promise<InlineCompletionList | null> {
        this.inFlight?.abort();
        const controller = new AbortController();
        this.inFlight = controller;
        const subscription = token.onCancellationRequested(() => controller.abort());
        try {
            return await this.complete(params, controller.signal);
        } catch (e: unknown) {
            if (isAbort(e)) {
                this.log.debug("completion cancelled");
                return null;
            }
            this.log.error(`completion failed: ${errorMessage(e)}`);
            return null;
        } finally {
            subscription.dispose();
            if (this.inFlight === controller) this.inFlight = undefined;
        }
    }

    /** Repository context (repositoryContext.ts) opens the prompt: after the cache and the debounce, so a served or superseded keystroke pays nothing for it. */
    private async addRepositoryContext(
        input: PromptInput,
        doc: TextDocument,
        position: { line: number; character: number },
        others: TextDocument[],
        signal: AbortSignal
    ) {
        const workspace = this.getSettings().workspace;
        input.path = this.workspace.promptPath(doc.uri);
        input.extraTokens = workspace.contextTokens;
        if (!workspace.completionContext || !workspace.index) return;
        const recent = others.filter((d) => (this.recency.get(d.uri) ?? 0) > 0).map((d) => d.uri);
        const found = await this.repository.snippets(doc, position, recent, this.definitionLookup(doc.uri));
        signal.throwIfAborted();
        if (found.length > 0) this.log.debug(`repository context: ${found.map((f) => f.path).join(", ")}`);
        // Repository context first: it is what the open files' heads were standing in for (a head of a file it already quotes goes).
        const quoted = new Set(found.map((f) => f.path.replace(/:\d+$/, "")));
        input.extra = [...found, ...input.extra.filter((e) => !quoted.has(this.workspace.relativePath(e.path)))];
        if (!workspace.members) return;
        input.members = await this.repository.memberContinuations(doc, position, this.definitionLookup(doc.uri));
        signal.throwIfAborted();
        if (input.members.length === 0) return;
        this.log.debug(`completion starts with a member: ${input.members.join(", ")}`);
        const typed = memberAccessAt(input.linePrefix)?.typed ?? "";
        // The code above the cursor and its line up to the receiver (whose own name says nothing of its members).
        const near = doc
            .getText({ start: { line: Math.max(0, position.line - NEARBY_LINES), character: 0 }, end: position })
            .replace(/[\w$]+\s*\??\.[\w$]*$/, "");
        const used = new Set(
            usedNearby(
                input.members.map((c) => typed + c),
                near
            )
        );
        input.nearbyMembers = input.members.filter((c) => used.has(typed + c));
        if (used.size > 0) this.log.debug(`members the code near the cursor uses: ${[...used].join(", ")}`);
    }

    private definitionLookup(uri: string): DefinitionLookup | undefined {
        if (!this.clientDefinitions) return undefined;
        return async (positions, kind) => {
            // A language server still starting can take seconds: past the wait, the index answers alone.
            const waited = new AbortController();
            const answer = await Promise.race([
                this.connection.sendRequest(DefinitionsRequest.type, { textDocument: { uri }, positions, kind }),
                sleep(DEFINITIONS_WAIT_MS, undefined, { signal: waited.signal }).catch(() => undefined)
            ]).finally(() => waited.abort());
            if (!answer) throw new Error("the editor's definitions came too late");
            return answer.map((list) =>
                list.map((l) => ({ uri: l.uri, line: l.range.start.line, character: l.range.start.character }))
            );
        };
    }

    private async complete(params: InlineCompletionParams, signal: AbortSignal): Promise<InlineCompletionList | null> {
        const settings = this.getSettings().completion;
        const doc = this.documents.get(params.textDocument.uri);
        if (!settings.enabled || !doc) return null;
        // Asked for on purpose while the model loads: wait for it. Automatic ones come again with the next keystroke.
        const invoked = params.context?.triggerKind === InlineCompletionTriggerKind.Invoked;
        if (invoked && !this.engine.backend) this.log.debug("completion: waiting for the model to load");
        const backend = invoked ? await this.engine.whenReady(signal) : this.engine.backend;
        if (!backend) {
            this.log.debug(`completion skipped: no model loaded (${this.engine.current.state})`);
            return null;
        }

        const others = this.documents
            .all()
            .filter((d) => d.uri !== doc.uri)
            .sort((a, b) => (this.recency.get(b.uri) ?? 0) - (this.recency.get(a.uri) ?? 0));
        const input = buildPromptInput(doc, params.position, settings, others);
        if (INSIDE_WORD.before.test(input.linePrefix) && INSIDE_WORD.after.test(input.lineSuffix)) return { items: [] };
        const toList = (text: string): InlineCompletionList => ({
            items: text ? [{ insertText: text, range: { start: params.position, end: params.position } }] : []
        });

        // Cached suggestions belong to the backend and expert count that made them.
        const madeBy = backend.identity;
        if (this.cachedFor !== madeBy) {
            this.cache.clear();
            this.cachedFor = madeBy;
        }
        const cached = this.cache.get(input.prefix, input.suffix);
        if (cached !== undefined) {
            this.log.debug("completion served from cache");
            return toList(cached);
        }

        if (params.context?.triggerKind === InlineCompletionTriggerKind.Automatic)
            await debounce(settings.debounceMs, signal);
        await this.addRepositoryContext(input, doc, params.position, others, signal);

        let output: CompletionOutput;
        try {
            output = await backend.complete({
                input,
                maxTokens: settings.maxTokens,
                timeBudgetMs: settings.timeBudgetMs,
                signal,
                isComplete: (text) => endOfSuggestion(text, input) !== undefined
            });
        } catch (e: unknown) {
            if (isAbort(e) || signal.aborted) throw e;
            this.failures.tell(errorMessage(e));
            return null;
        }
        this.failures.clear();
        if (output.cancelled) {
            this.log.debug(`completion cancelled after ${output.generatedTokens} generated tokens (${output.summary})`);
            return null;
        }
        const text = postprocess(output.text, input);
        // A load or a new expert count meanwhile: this suggestion is not the new backend's.
        if (this.engine.backend?.identity === madeBy) this.cache.set(input.prefix, input.suffix, text);
        if (output.tokensPerSecond !== undefined) this.engine.reportSpeed(output.tokensPerSecond);
        this.log.debug(`completion: ${output.summary}, shown: ${text.length} chars`);
        return toList(text);
    }
}
