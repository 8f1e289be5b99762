/**
 * Every custom part of the MoE Pilot protocol, in one file that the client (src/) and the
 * server (server/) both import. Standard LSP covers the rest: `textDocument/inlineCompletion`
 * (LSP 3.18) for completions, `$/progress` for model loading, `$/cancelRequest` for cancellation.
 *
 * One namespace per custom method, named `moePilot/<area>/<verb>`. This file imports only
 * `vscode-languageserver-protocol`, so any LSP client (Neovim, Helix, a test) can use it.
 */
import {
    NotificationType, type PartialResultParams, ProgressType, ProtocolRequestType, RequestType0, type WorkDoneProgressParams
} from "vscode-languageserver-protocol";

/** The server's settings: `initializationOptions.settings`, then `workspace/configuration` section `moePilot`. */
export type Settings = {
    /** A GGUF file; empty means the embedded default model. */
    modelPath: string,
    /** CPU threads for generation; 0 means physical cores minus one (at least one). */
    threads: number,
    /** KV-cache size of the completion context, in tokens. */
    contextSize: number,
    completion: CompletionSettings,
    chat: ChatSettings,
    gpu: GpuSettings,
    memory: MemorySettings
};

export type MemorySettings = {
    /**
     * Memory the model's weights may keep resident, in MiB, or `auto` (three quarters of what the
     * machine, or the server's memory cgroup, has available when the model loads). A MoE model
     * larger than it runs with the expert cache (server/cache/); a model that fits is not touched.
     */
    budget: "auto" | number
};

/** Where a model offloaded to a GPU keeps its expert weights (server/engine/expertPlacement.ts). */
export type ExpertsOnCpu = "off" | "all" | number;

export type GpuSettings = {
    /** Keep MoE expert weights in RAM: `off`, `all` layers, or the first N layers (llama-server's --cpu-moe / --n-cpu-moe N). */
    expertsOnCpu: ExpertsOnCpu
};

export type ChatSettings = {
    /** Experts per token for chat answers whose conversation asks for `auto`: `auto` (the trained count) or a number. */
    experts: "auto" | number
};

export type CompletionSettings = {
    enabled: boolean,
    /** Experts per token for completion: `auto` (the server's measured default) or a number. */
    experts: "auto" | number,
    /** Wait this long after the last keystroke before computing (a newer keystroke cancels). */
    debounceMs: number,
    /** Stop generating after this many tokens. */
    maxTokens: number,
    /** Stop generating after this long, and return what there is. */
    timeBudgetMs: number,
    /** Lines of the current file before and after the cursor that go into the prompt. */
    prefixLines: number,
    suffixLines: number,
    /** Snippets of other open files that go into the prompt when it has room. */
    extraContext: boolean
};

/** Settings as a client may send them: any part of them (the server fills in and validates the rest). */
export type SettingsInput = Partial<Omit<Settings, "completion" | "chat" | "gpu">> & { completion?: Partial<CompletionSettings>, chat?: Partial<ChatSettings>, gpu?: Partial<GpuSettings> };

/** What the client passes in `initialize`. */
export type InitializationOptions = {
    settings?: SettingsInput,
    /** Where the extension is installed: the embedded model lives under it. */
    extensionRoot?: string
};

export type ServerState = "starting" | "loading" | "ready" | "error";

/** How the model's expert count is controlled right now. */
export type ExpertMode =
    /** The model is not a Mixture of Experts: expert settings do not apply. */
    | "not-moe"
    /** The native runtime (native/): each workload's count on one model instance, changed without reloading. */
    | "native"
    /** Stock binaries, the trained count; no override was asked for. */
    | "trained"
    /** Per-workload counts through a second model instance loaded with a metadata override (shares the mmapped weights). */
    | "override";

export type ModelSummary = {
    name: string,
    path: string,
    architecture: string,
    /** Size of the file in bytes. */
    sizeBytes: number,
    isMoe: boolean,
    /** Experts per MoE layer (0 for a dense model). */
    expertCount: number,
    /** Experts used per token as trained (0 for a dense model). */
    expertUsedCount: number,
    /** Whether the model has fill-in-the-middle tokens; without them completion uses a family template or plain continuation. */
    fimSource: "gguf-tokens" | "family-template" | "none",
    /** The file is the embedded demo model. */
    isEmbedded: boolean
};

export type StatusParams = {
    state: ServerState,
    model?: ModelSummary,
    /** Experts per token the completion workload uses now (0 when not MoE). */
    completionExperts?: number,
    expertMode?: ExpertMode,
    /** Generation speed of the last completion, tokens per second. */
    tokensPerSecond?: number,
    /** For `error`: what went wrong, in words the user can act on. */
    message?: string
};

/** Server → client: the engine's state changed (loading, ready, error) or a new speed figure. */
export namespace StatusNotification {
    export const method = "moePilot/status/changed";
    export const type = new NotificationType<StatusParams>(method);
}

/** Client → server: the current status, for a client that (re)connects after the last notification. */
export namespace StatusRequest {
    export const method = "moePilot/status/get";
    export const type = new RequestType0<StatusParams, void>(method);
}

/** Client → server: unload and load the model again with the current settings. */
export namespace ReloadModelRequest {
    export const method = "moePilot/model/reload";
    export const type = new RequestType0<StatusParams, void>(method);
}

export type ChatMessage = { role: "user" | "assistant", content: string };

/** Context the user attached to a chat message and can see in the panel. */
export type ChatAttachment = {
    kind: "selection" | "file" | "diagnostics",
    /** What the panel shows, e.g. "src/a.ts:10-20". */
    label: string,
    text: string
};

export type ChatParams = WorkDoneProgressParams & PartialResultParams & {
    /** The conversation; the last message is the user's new one. */
    messages: ChatMessage[],
    attachments?: ChatAttachment[],
    /** Experts per token for this chat (MoE models): `auto` is the trained count. */
    experts?: "auto" | number,
    /** Most tokens the answer may take. Defaults to 512. */
    maxTokens?: number
};

/**
 * One streamed piece of the answer, sent as `$/progress` with the request's `partialResultToken`;
 * with the native runtime, also which experts the tokens of this piece went through.
 */
export type ChatChunk = { text: string, routing?: RoutingActivity };

/** Per MoE layer (index = layer), how many tokens each expert took. */
export type RoutingActivity = { expertCount: number, layers: number[][] };

export type ChatResult = {
    /** The whole answer (the chunks, joined). */
    text: string,
    stopReason: "end-of-turn" | "max-tokens" | "cancelled",
    promptTokens: number,
    generatedTokens: number,
    tokensPerSecond: number,
    experts: number,
    /** What the context-window policy left out to fit, said to the user rather than done silently. */
    trimmed: { attachments: string[], earlierMessages: number },
    /** The chat template used: the model's own, or a general default when it has none. */
    template: { name: string, fromModel: boolean }
};

/**
 * Client → server: answer a chat message. The answer streams as `$/progress` partial results
 * (`ChatChunk`) when the client passes a `partialResultToken`; the response then sums it up.
 * `$/cancelRequest` stops it within one token; a chat waits behind inline completions and
 * behind an earlier chat.
 */
export namespace ChatRequest {
    export const method = "moePilot/chat/send";
    export const type = new ProtocolRequestType<ChatParams, ChatResult, ChatChunk, void, void>(method);
    export const partialResult = new ProgressType<ChatChunk>();
}

/** One MoE layer's routing since the model was loaded (see server/routing/RoutingStats.ts). */
export type LayerRouting = {
    layer: number,
    /** Tokens routed to each expert. */
    load: number[],
    /** Entropy of `load`, in bits: log2(experts) when perfectly even. */
    loadEntropyBits: number,
    /** Share of a token's experts that the previous token also used (undefined before two tokens). */
    previousTokenOverlap?: number,
    /** Best hit rate of a per-layer cache of C experts (key) over 64-token windows. */
    windowHitRate?: Record<number, number>
};

export type WorkloadRouting = { tokens: number, droppedRows: number, layers: LayerRouting[] };

/** The expert cache's state (server/cache/ExpertCache.ts). */
export type ExpertCacheStatus = {
    /** `off`: not needed (the model fits the budget) or not possible; `on`: the model runs with it. */
    state: "on" | "off",
    /** Why it is off, or a note on how it runs (pinning refused, say). */
    reason?: string,
    budgetBytes: number,
    modelBytes: number,
    quotaPerLayer?: number,
    policy?: string,
    /** Share of expert uses found in the pinned quota (as the policy keeps it), since the load. */
    hitRate?: number,
    /** Bytes the server read from storage per token since the load. */
    diskBytesPerToken?: number,
    /** Weights pinned in memory: non-expert weights and the pinned experts. */
    pinnedBytes?: number,
    tokens?: number
};

export type RoutingStatsResult = {
    /** False with stock llama.cpp binaries (no trace) or a dense model. */
    available: boolean,
    cache?: ExpertCacheStatus,
    /** Why not, in words. */
    reason?: string,
    expertCount: number,
    expertUsedCount: number,
    completion?: WorkloadRouting,
    chat?: WorkloadRouting
};

/** Client → server: the routing statistics of each workload since the model was loaded. */
export namespace RoutingStatsRequest {
    export const method = "moePilot/routing/stats";
    export const type = new RequestType0<RoutingStatsResult, void>(method);
}
