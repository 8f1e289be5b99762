/**
 * The local backend: node-llama-cpp's llama.cpp running the model in this process, every
 * evaluation on the compute lane.
 *
 * Per-workload expert counts. With the native runtime (native/, the patched llama.cpp), one
 * model instance serves every count: the completion context and the chat context each carry
 * their own k, set between evaluations (nativeMoe.ts). Without it (node-llama-cpp's prebuilt
 * binaries), a workload that wants a count other than the trained one gets a second model
 * instance loaded with `metadataOverrides` (`<arch>.expert_used_count = k`); both instances
 * memory-map the same file, so the weights are shared pages and the second costs a context.
 *
 * loadLocalBackend.ts builds one; this file runs it.
 */
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type {
    Backend,
    BackendStatus,
    Capabilities,
    ChatSession,
    CompletionOutput,
    CompletionRequest,
    RewriteOutput,
    RewriteRequest
} from "../backend/Backend";
import type { ExpertCache } from "../cache/ExpertCache";
import { buildFimPrompt, type FimTokens, type Tokenizer } from "../completion/fimFormats";
import { generate, generationSummary } from "../completion/generate";
import { chooseK, type ExpertModel, routingText } from "../experts/expertCount";
import type { Logger } from "../log";
import type { ModelInspection } from "../models/inspectModel";
import { recommendedK } from "../models/registry";
import { embeddedAdaptive } from "../models/embeddedModel";
import type { AdaptiveRouting, ExpertCacheStatus, RoutingStatsResult, Settings } from "../protocol";
import type { RoutingTrace } from "../routing/RoutingTrace";
import { type ComputeLane, Priority } from "./ComputeLane";
import { loadModelFile } from "./llama";
import { type ChatContext, createChatContext, localChatSession, ModelUnloadedError } from "./localChat";
import { NativeMoeContext } from "./nativeMoe";
import { rewriteOn } from "./rewrite";
import { RoutingEmbedder } from "./routingEmbedder";
import { LookupPredictor } from "../speculation/LookupPredictor";
import type { TokenDecoder } from "./tokenText";

/** The completion workload's context and what prompts are built with, valid until the next load. */
type LocalCompletion = {
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
    decode: TokenDecoder;
    fim: FimTokens;
    tokenizer: Tokenizer;
    /** Each token's text, for token healing's constraint (index = token id). */
    vocabulary: readonly string[];
    /** The native runtime's controls on the context (undefined on stock binaries). */
    moe?: NativeMoeContext;
    /** Whether the sequence speculates, and why (speculation/LookupPredictor.ts#speculationChoice). */
    speculation: { on: boolean; reason: string };
    /** Whether completions use the repetition prior (completion/repetitionPrior.ts#repetitionPriorChoice). */
    repetitionPrior: boolean;
};

export type LocalParts = {
    llama: Llama;
    lane: ComputeLane;
    log: Logger;
    settings: Settings;
    threads: number;
    /** The native runtime runs the completion model: each context carries its own k. */
    native: boolean;
    /** Distinguishes this load's suggestions from an earlier load's. */
    generation: number;
    completionModel: ModelInspection;
    /** The chat model when it is another file (`chat.modelPath`); else chat runs on the completion model. */
    chatModel?: ModelInspection;
    /** Model instances by file and k (stock binaries: one per k; native: one per file). */
    instances: Map<string, LlamaModel>;
    completion: LocalCompletion;
    completionK: number;
    status: BackendStatus;
    trace?: RoutingTrace;
    cache: { instance?: ExpertCache; status: ExpertCacheStatus };
};

export const expertModel = (m: ModelInspection): ExpertModel => ({
    name: m.name,
    expertCount: m.expertCount,
    trainedK: m.trainedK,
    recommendedK: recommendedK(m.path),
    adaptive: embeddedAdaptive(m.path)
});

export class LocalBackend implements Backend {
    readonly capabilities: Capabilities;
    readonly models: { completion: ModelInspection; chat?: ModelInspection };
    private completionK: number;
    private completionAdaptive: AdaptiveRouting | undefined;
    private statusValue: BackendStatus;
    /** Chat contexts by k (stock binaries: one per k; native: one, under -1). */
    private readonly chats = new Map<number, Promise<ChatContext>>();
    /**
     * Set by dispose(): work in flight stops within a token (its signal aborts), and work that
     * waited on the lane meanwhile finds the backend gone instead of freed contexts.
     */
    private disposed = false;
    private readonly unloading = new AbortController();
    private readonly embedder?: RoutingEmbedder;
    readonly embeddingModel: string | undefined;

    constructor(private readonly parts: LocalParts) {
        this.models = { completion: parts.completionModel, chat: parts.chatModel };
        this.completionK = parts.completionK;
        this.completionAdaptive = parts.status.completionAdaptive;
        this.statusValue = parts.status;
        const model = parts.completionModel;
        this.capabilities = {
            moe:
                model.expertCount === 0
                    ? { available: false, reason: `${model.name} is not a Mixture of Experts.` }
                    : !parts.trace
                      ? {
                            available: false,
                            reason: "The routing trace needs the native MoE runtime (native/); the server runs on stock llama.cpp binaries."
                        }
                      : { available: true }
        };
        if (this.capabilities.moe.available) {
            this.embedder = new RoutingEmbedder(
                parts.completion.model,
                model,
                parts.lane,
                parts.threads,
                this.unloading.signal
            );
            // Vectors are the model's: the file and its size name it (a replaced file is another model).
            this.embeddingModel = `${model.path}#${model.sizeBytes}`;
        }
    }

    embed(text: string, signal?: AbortSignal): Promise<Float32Array | undefined> {
        if (!this.embedder || this.disposed) return Promise.resolve(undefined);
        return this.embedder.embed(text, signal);
    }

    get identity(): string {
        const a = this.completionAdaptive;
        return `${this.parts.generation}/k${this.completionK}${a ? `/p${a.p}/min${a.kMin}` : ""}`;
    }

    get status(): BackendStatus {
        return this.statusValue;
    }

    async complete(request: CompletionRequest): Promise<CompletionOutput> {
        const { lane, log, trace } = this.parts;
        const c = this.parts.completion;
        const signal = AbortSignal.any([request.signal, this.unloading.signal]);
        const result = await lane.run(Priority.Completion, request.signal, async () => {
            if (this.disposed) return undefined;
            const prompt = buildFimPrompt(request.input, c.fim, c.tokenizer, {
                maxPromptTokens: c.context.contextSize - request.maxTokens - 1,
                healWith: (t) => c.vocabulary[t] ?? ""
            });
            log.debug(`completion: prompt of ${prompt.tokens.length} tokens (${c.fim.family}, ${c.fim.order})`);
            try {
                return await generate(c.model, c.sequence, c.decode, prompt.tokens, {
                    maxTokens: request.maxTokens,
                    deadline: performance.now() + request.timeBudgetMs,
                    signal,
                    onFirstToken: (ms) => log.debug(`completion: first token after ${ms.toFixed(1)} ms`),
                    isComplete: request.isComplete,
                    stopAtLoop: true,
                    heal: {
                        text: prompt.heal,
                        vocabulary: c.vocabulary,
                        members: request.input.members,
                        nearbyMembers: request.input.nearbyMembers
                    },
                    repetitionPrior: c.repetitionPrior ? { continued: prompt.continued } : undefined
                });
            } finally {
                trace?.take("completion", c.moe);
            }
        });
        if (!result)
            return { text: "", cancelled: true, generatedTokens: 0, summary: "the model was unloaded meanwhile" };
        const tokensPerSecond =
            result.generatedTokens > 1 && result.decodeMs > 0
                ? Math.round((result.generatedTokens - 1) / (result.decodeMs / 1000))
                : undefined;
        return {
            text: result.text,
            cancelled: result.stopReason === "cancelled",
            generatedTokens: result.generatedTokens,
            tokensPerSecond,
            summary: generationSummary(result)
        };
    }

    async rewrite(request: RewriteRequest): Promise<RewriteOutput> {
        const { lane, trace } = this.parts;
        const c = this.parts.completion;
        const signal = AbortSignal.any([request.signal, this.unloading.signal]);
        const result = await lane.run(Priority.Completion, request.signal, async () => {
            if (this.disposed) return undefined;
            try {
                return await rewriteOn(c, c.context.contextSize, { ...request, signal });
            } finally {
                trace?.take("completion", c.moe);
            }
        });
        return (
            result ?? {
                text: "",
                cancelled: true,
                ended: false,
                generatedTokens: 0,
                summary: "the model was unloaded meanwhile"
            }
        );
    }

    /**
     * Changes the completion workload's k. With the native runtime it takes effect at the next
     * completion, on the same context (whose cached prompt, computed at the old count, is
     * dropped); on stock binaries it needs a load, and this says so.
     */
    async setCompletionK(wanted: "auto" | number): Promise<{ applied: boolean; warnings: string[] }> {
        const { completion, completionModel, native, lane, log } = this.parts;
        if (!native || !completion.moe) return { applied: completionModel.expertCount === 0, warnings: [] };
        const choice = chooseK(expertModel(completionModel), "completion", wanted, true, "moePilot.completion.experts");
        const moe = completion.moe;
        // On the lane: never change a context's graph while one of its evaluations runs.
        await lane.run(Priority.Completion, undefined, async () => {
            if (this.disposed) return;
            if (moe.route(choice)) await completion.sequence.clearHistory();
            this.completionK = choice.k;
            this.completionAdaptive = choice.adaptive;
        });
        this.statusValue = {
            ...this.statusValue,
            completionK: choice.k,
            completionAdaptive: choice.adaptive,
            expertMode: choice.mode
        };
        log.info(`completion ${routingText(choice)} (${choice.mode})`);
        return { applied: true, warnings: choice.warning ? [choice.warning] : [] };
    }

    /**
     * A chat session at `wanted` experts per token, by the same policy as completion. Its context
     * is created on first use and kept, so the next turn reuses its KV cache.
     */
    async openChat(wanted: "auto" | number, source: string): Promise<{ session: ChatSession; warnings: string[] }> {
        if (this.disposed) throw new ModelUnloadedError();
        const { settings, threads, lane, trace } = this.parts;
        const inspection = this.parts.chatModel ?? this.parts.completionModel;
        const native = inspection.expertCount > 0 && NativeMoeContext.isAvailable(this.parts.llama);
        const choice = chooseK(expertModel(inspection), "chat", wanted, native, source);
        const key = native ? -1 : choice.k;
        let chat = this.chats.get(key);
        if (!chat) {
            // Kept as a promise, so two chats starting at once share one context.
            const modelK = native ? inspection.trainedK : choice.k || inspection.trainedK;
            chat = this.instance(inspection, modelK).then((model) =>
                createChatContext(
                    model,
                    inspection,
                    contextSize(settings, inspection),
                    threads,
                    (context) => {
                        const moe = native ? NativeMoeContext.of(context, inspection.expertCount) : undefined;
                        if (moe) trace?.attach(moe, inspection.path, inspection.expertCount);
                        return moe;
                    },
                    { enabled: settings.speculativeDecoding, llama: this.parts.llama }
                )
            );
            this.chats.set(key, chat);
            chat.catch(() => this.chats.delete(key));
        }
        const context = await chat;
        // Unloaded while the context was made: dispose() freed it (it waits for the chats it knows).
        if (this.disposed) throw new ModelUnloadedError();
        return {
            session: localChatSession(context, choice.k, lane, trace, this.unloading.signal),
            warnings: choice.warning ? [choice.warning] : []
        };
    }

    routingStats(): RoutingStatsResult {
        const model = this.parts.completionModel;
        const base = { expertCount: model.expertCount, trainedK: model.trainedK };
        const { trace, cache, completion } = this.parts;
        const predictor = completion.sequence.tokenPredictor;
        const speculation = {
            ...completion.speculation,
            ...(predictor instanceof LookupPredictor
                ? predictor.policy.stats()
                : { drafts: 0, drafted: 0, accepted: 0 })
        };
        if (!this.capabilities.moe.available || !trace)
            return {
                ...base,
                available: false,
                reason: this.capabilities.moe.available ? undefined : this.capabilities.moe.reason,
                speculation
            };
        return {
            ...base,
            available: true,
            speculation,
            cache: trace.cacheStatus(cache.status),
            completion: trace.stats.completion.summary(),
            chat: trace.stats.chat.summary()
        };
    }

    /**
     * Frees the contexts and models, never under an evaluation: what runs is aborted (it stops
     * within a token) and the freeing is itself a lane job, at the lowest priority, so no chat
     * ever yields the lane to it mid-answer (freed memory under a running llama_decode is a
     * SIGSEGV: the generated-message fuzzer found it, a reload during a chat).
     */
    async dispose() {
        if (this.disposed) return;
        this.disposed = true;
        this.unloading.abort();
        await this.parts.lane.run(Priority.Background, undefined, async () => {
            this.parts.cache.instance?.dispose();
            await this.embedder?.dispose();
            const chats = [...this.chats.values()];
            this.chats.clear();
            for (const chat of chats) await (await chat.catch(() => undefined))?.context.dispose();
            await this.parts.completion.context.dispose();
            for (const model of this.parts.instances.values()) await model.dispose();
            this.parts.instances.clear();
        });
    }

    /** The model instance for `inspection` at `k`, loaded once per load. */
    private async instance(inspection: ModelInspection, k: number): Promise<LlamaModel> {
        // Keyed by file and count: a superseded load's instance must never be taken for another file's.
        const key = `${inspection.path}#${k}`;
        const cached = this.parts.instances.get(key);
        if (cached) return cached;
        const model = await loadModelFile(this.parts.llama, inspection, k);
        this.parts.instances.set(key, model);
        return model;
    }
}

/** The contexts' size: the setting, capped at what the model was trained for. */
export function contextSize(settings: Settings, inspection: ModelInspection): number {
    return Math.min(settings.contextSize, inspection.trainContextSize ?? settings.contextSize);
}
