/**
 * `textDocument/inlineCompletion` (LSP 3.18), as a pipeline read top to bottom:
 *
 *   context (context.ts) → cache / type-through (cache.ts) → debounce → FIM prompt (fimFormats.ts)
 *   → generate on the compute lane (generate.ts) → where it ends, what repeats (filters.ts) → item
 *
 * A newer request aborts the one in flight (the user typed on), and `$/cancelRequest` aborts it
 * too: the signal reaches the generation loop, which stops within one token.
 */
import {
    type CancellationToken, type ClientCapabilities, type Connection, type InlineCompletionList, type InlineCompletionParams,
    InlineCompletionTriggerKind, type ServerCapabilities, type TextDocuments
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { Priority } from "../engine/ComputeLane";
import type { EngineFeature } from "../engine/EngineFeature";
import { errorMessage, isAbort } from "../engine/errors";
import type { Feature } from "../feature";
import type { Logger } from "../log";
import type { Settings } from "../protocol";
import { CompletionCache } from "./cache";
import { buildCompletionContext } from "./context";
import { debounce } from "./debounce";
import { buildFimPrompt } from "./fimFormats";
import { endOfSuggestion, postprocess } from "./filters";
import { generate } from "./generate";

/** The middle of an identifier: completing there mostly fights the user. */
const INSIDE_WORD = { before: /\w$/, after: /^\w/ };

export class CompletionFeature implements Feature {
    private readonly cache = new CompletionCache();
    /** Most recently edited documents last; feeds the extra context. */
    private readonly recency = new Map<string, number>();
    private editCounter = 0;
    private inFlight?: AbortController;
    private cachedFor?: string;

    constructor(
        private readonly connection: Connection,
        private readonly documents: TextDocuments<TextDocument>,
        private readonly engine: EngineFeature,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {}

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
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

    private async complete(params: InlineCompletionParams, signal: AbortSignal): Promise<InlineCompletionList | null> {
        const settings = this.getSettings().completion;
        const doc = this.documents.get(params.textDocument.uri);
        if (!settings.enabled || !doc) return null;
        const remote = this.engine.remote;
        if (!remote && !this.engine.engine.completion) {
            this.log.debug("completion skipped: no model loaded");
            return null;
        }

        const others = this.documents.all()
            .filter((d) => d.uri !== doc.uri)
            .sort((a, b) => (this.recency.get(b.uri) ?? 0) - (this.recency.get(a.uri) ?? 0));
        const ctx = buildCompletionContext(doc, params.position, settings, others);
        if (INSIDE_WORD.before.test(ctx.linePrefix) && INSIDE_WORD.after.test(ctx.lineSuffix)) return { items: [] };

        const toList = (text: string): InlineCompletionList =>
            ({ items: text ? [{ insertText: text, range: { start: params.position, end: params.position } }] : [] });

        // Cached suggestions belong to the model and expert count that made them.
        const identity = () => (this.engine.remote ? `remote:${this.engine.remote.endpoint}` : this.engine.engine.completion?.identity);
        const madeBy = identity();
        if (this.cachedFor !== madeBy) { this.cache.clear(); this.cachedFor = madeBy; }
        const cached = this.cache.get(ctx.prefix, ctx.suffix);
        if (cached !== undefined) {
            this.log.debug("completion served from cache");
            return toList(cached);
        }

        if (params.context.triggerKind === InlineCompletionTriggerKind.Automatic)
            await debounce(settings.debounceMs, signal);

        if (remote) {
            let raw: string;
            try {
                raw = await remote.complete(ctx, settings.maxTokens, signal);
            } catch (e: unknown) {
                if (signal.aborted) return null;
                this.engine.remoteFailed(e);
                return null;
            }
            this.engine.remoteSucceeded();
            const text = postprocess(raw, ctx);
            if (identity() === madeBy) this.cache.set(ctx.prefix, ctx.suffix, text);
            this.log.debug(`completion (remote): ${raw.length} chars, shown: ${text.length}`);
            return toList(text);
        }

        const result = await this.engine.engine.lane.run(Priority.Completion, signal, async () => {
            // Read the backend inside the lane: a reload may have replaced it while we waited.
            const backend = this.engine.engine.completion;
            if (!backend) return undefined;
            const { fim, tokenizer } = backend;
            const prompt = buildFimPrompt(ctx, fim, tokenizer, { maxPromptTokens: backend.contextSize - settings.maxTokens - 1, healWith: (t) => backend.vocabulary[t] ?? "" });
            this.log.debug(`completion: prompt of ${prompt.tokens.length} tokens (${fim.family}, ${fim.order})`);
            try {
                return await generate(backend.model, backend.sequence, backend.decode, prompt.tokens, {
                    maxTokens: settings.maxTokens,
                    deadline: performance.now() + settings.timeBudgetMs,
                    signal,
                    onFirstToken: (ms) => this.log.debug(`completion: first token after ${ms.toFixed(1)} ms`),
                    isComplete: (text) => endOfSuggestion(text, ctx) !== undefined,
                    heal: { text: prompt.heal, vocabulary: backend.vocabulary }
                });
            } finally {
                this.engine.engine.takeRouting("completion", backend.moe);
            }
        });
        if (!result) return null;
        if (result.stopReason === "cancelled") {
            this.log.debug(`completion cancelled after ${result.generatedTokens} generated tokens`);
            return null;
        }

        const text = postprocess(result.text, ctx);
        if (identity() === madeBy) this.cache.set(ctx.prefix, ctx.suffix, text);
        const tokensPerSecond = result.decodeMs > 0 ? (result.generatedTokens - 1) / (result.decodeMs / 1000) : 0;
        if (result.generatedTokens > 1) this.engine.reportSpeed(Math.round(tokensPerSecond));
        this.log.debug(`completion: ${result.evaluatedPromptTokens}/${result.promptTokens} prompt tokens evaluated in ${result.prefillMs.toFixed(1)} ms, ` +
            `${result.generatedTokens} generated in ${result.decodeMs.toFixed(1)} ms, stop: ${result.stopReason}, shown: ${text.length} chars`);
        return toList(text);
    }
}
