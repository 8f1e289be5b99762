/**
 * The one interface completion and chat call, whatever runs the model: the local engine
 * (node-llama-cpp, with or without the native MoE runtime: engine/LocalBackend.ts) or a remote
 * server (llama-server's `/infill`, OpenAI-compatible: remote/RemoteBackend.ts). No feature asks
 * which it has; what differs is said by the backend's identity and capabilities (Continue's
 * `ILLM` as its `CompletionStreamer` uses it).
 */
import type { ChatTurn } from "../chat/fitConversation";
import type { PromptInput } from "../completion/promptInput";
import type { ModelInspection } from "../models/inspectModel";
import type { AdaptiveRouting, ChatChunk, ChatResult, ExpertMode, ModelSummary, RoutingStatsResult } from "../protocol";
import type { ResolvedSampling } from "../chat/sampling";

/** What the backend can do beyond completion and chat, and why not when it cannot. */
export type Capabilities = {
    /** The MoE controls: expert counts per workload, the routing trace, the expert cache. */
    moe: { available: true } | { available: false; reason: string };
};

/** What the status bar and the model card show of a backend. */
export type BackendStatus = {
    model: ModelSummary;
    completionK: number;
    /** Adaptive routing on top of `completionK` (its cap), when on. */
    completionAdaptive?: AdaptiveRouting;
    expertMode: ExpertMode;
};

export type CompletionRequest = {
    input: PromptInput;
    maxTokens: number;
    /** Milliseconds the generation may take; what is there by then is the answer. */
    timeBudgetMs: number;
    signal: AbortSignal;
    /** True when the text so far is a whole suggestion (the stop rule, filters.ts). */
    isComplete(text: string): boolean;
};

export type CompletionOutput = {
    /** The text to insert, before the pipeline's filters. */
    text: string;
    cancelled: boolean;
    /** Tokens generated (0 where the backend does not count them). */
    generatedTokens: number;
    /** Decode speed, when the backend measured it (the status bar shows it). */
    tokensPerSecond?: number;
    /** One line for the log: what was evaluated and generated, and why it stopped. */
    summary: string;
};

/** A prompt in a task's own format: text, and special tokens by their text (user text never becomes a control token). */
export type PromptPart = string | { special: string };

/** A greedy continuation of a prompt in a task's own format (next-edit suggestions: nextEdit/nextEditFormats.ts). */
export type RewriteRequest = {
    prompt: PromptPart[];
    maxTokens: number;
    timeBudgetMs: number;
    signal: AbortSignal;
    /** The answer ends before the first of these texts. */
    stop: string[];
};

export type RewriteOutput = Pick<CompletionOutput, "text" | "cancelled" | "generatedTokens" | "summary"> & {
    /** The model ended the answer (end of generation, a stop text); false when a budget cut it short. */
    ended: boolean;
};

type ChatGeneration = Pick<ChatResult, "text" | "stopReason" | "promptTokens" | "generatedTokens"> & {
    /** Tokens per second: of the decode where the backend measures it, else of the whole request. */
    tokensPerSecond: number;
    /** The speed is the model's decode speed (the status bar shows only that). */
    decodeMeasured: boolean;
};

/** A chat at one expert count, ready to answer: its context window, how it counts tokens, how it streams. */
export interface ChatSession {
    /** Experts per token (0: not a MoE model, or not known here). */
    readonly k: number;
    readonly contextSize: number;
    readonly template: ChatResult["template"];
    /** Tokens `turns` take once rendered by the chat template (or a safe estimate where only the server can count). */
    countTokens(turns: ChatTurn[]): number;
    /** Streams the answer to `turns`; a cancel ends it with what was streamed, marked `cancelled`. */
    answer(
        turns: ChatTurn[],
        options: {
            maxTokens: number;
            signal: AbortSignal;
            /** How to sample and where it came from (server/chat/sampling.ts), and a seed when answers must repeat. */
            sampling: ResolvedSampling;
            seed?: number;
            onChunk(chunk: ChatChunk): void;
        }
    ): Promise<ChatGeneration>;
}

export interface Backend {
    /** Changes whenever what makes suggestions changes (a load, an expert count): cached suggestions are keyed by it. */
    readonly identity: string;
    readonly capabilities: Capabilities;
    readonly status: BackendStatus;
    /** The model files it runs (watched on disk, shown in the model card); none for a remote engine. */
    readonly models: { completion?: ModelInspection; chat?: ModelInspection };

    complete(request: CompletionRequest): Promise<CompletionOutput>;
    /** On the completion workload (its context and k, at completion priority): the model continues `prompt`. */
    rewrite(request: RewriteRequest): Promise<RewriteOutput>;
    /** A chat session at `k` (`auto`: the expert-count policy's choice); warnings say what was clamped. */
    openChat(k: "auto" | number, source: string): Promise<{ session: ChatSession; warnings: string[] }>;
    /** Sets the completion workload's expert count without a load; false when only a load can (stock binaries). */
    setCompletionK(wanted: "auto" | number): Promise<{ applied: boolean; warnings: string[] }>;
    routingStats(): RoutingStatsResult;
    /**
     * The text's vector from the model's own routing (routing/routingEmbedding.ts), on the lane at
     * background priority; undefined where there is no routing to read (a dense model, stock
     * binaries, a remote engine). `embeddingModel` names what made the vectors (they are cached by it).
     */
    embed(text: string, signal?: AbortSignal): Promise<Float32Array | undefined>;
    readonly embeddingModel: string | undefined;
    dispose(): Promise<void>;
}
