/**
 * Every custom part of the MoE Pilot protocol, in one file that the client (src/) and the
 * server (server/) both import. Standard LSP covers the rest: `textDocument/inlineCompletion`
 * (LSP 3.18) for completions, `$/progress` for model loading, `$/cancelRequest` for cancellation.
 *
 * One namespace per custom method, named `moePilot/<area>/<verb>`. This file imports only
 * `vscode-languageserver-protocol`, so any LSP client (Neovim, Helix, a test) can use it.
 */
import {
    NotificationType,
    type PartialResultParams,
    ProgressType,
    ProtocolRequestType,
    RequestType,
    RequestType0,
    type WorkDoneProgressParams
} from "vscode-languageserver-protocol";

/** The server's settings: `initializationOptions.settings`, then `workspace/configuration` section `moePilot`. */
export type Settings = {
    /** A GGUF file; empty means the embedded default model. */
    modelPath: string;
    /** CPU threads for generation; 0 means physical cores minus one (at least one). */
    threads: number;
    /** KV-cache size of the completion context, in tokens. */
    contextSize: number;
    /** Prompt-lookup drafts verified with the next token (server/speculation/). */
    speculativeDecoding: "auto" | "on" | "off";
    completion: CompletionSettings;
    chat: ChatSettings;
    gpu: GpuSettings;
    memory: MemorySettings;
    models: ModelsSettings;
    remote: RemoteSettings;
    workspace: WorkspaceSettings;
    nextEdit: NextEditSettings;
};

/** Next-edit suggestions (server/nextEdit/): after an edit, the model proposes the next one. */
type NextEditSettings = {
    enabled: boolean;
    /** The prompt format: `auto` (the model's, from its name: Zeta's, Sweep's; else the project's own) or one by name. */
    format: "auto" | "moe-pilot" | "zeta" | "sweep";
    /** Most milliseconds one proposal may take, over all the regions it looks at. */
    timeBudgetMs: number;
};

/** The workspace index (server/workspace/): repository context for completions and chat. */
type WorkspaceSettings = {
    /** Index the workspace folders (read their files, keep them in a store on disk). */
    index: boolean;
    /** The walk stops after this many files. */
    maxFiles: number;
    /** Files larger than this many KiB are left out. */
    maxFileKiB: number;
    /** Completion prompts get definitions and similar code from other files (within `contextTokens`). */
    completionContext: boolean;
    /** Tokens of a completion prompt that repository context may take. */
    contextTokens: number;
    /** After `object.`, a completion starts with a member of the object's type, where the index has its declaration. */
    members: boolean;
    /** `routing`: chat's workspace chunks are BM25's candidates reordered by the model's own routing; `off`: BM25 alone. */
    rerank: "routing" | "off";
};

/** A remote engine instead of the local model (server/remote/RemoteBackend.ts). */
export type RemoteSettings = {
    /** Base URL of an OpenAI-compatible server (llama-server, vLLM, SGLang, Ollama); empty means the local engine. */
    endpoint: string;
    /** `auto` asks the server (llama-server answers /props); `llama-server` uses /infill; `openai` uses /v1 only. */
    kind: "auto" | "llama-server" | "openai";
    /** The model name to ask for; empty means the server's (first) model. */
    model: string;
    /** FIM template for /v1/completions: `auto` guesses from the model name; `none` sends the plain prefix; or a family name. */
    fimFormat: string;
    /** How long the server may stay silent (no answer, or no next piece of a stream), in ms. */
    timeoutMs: number;
};

type ModelsSettings = {
    /** Where downloaded models go; empty means ~/.cache/moe-pilot/models. */
    directory: string;
    /** A Hugging Face mirror for `hf:` downloads (as HF_ENDPOINT); empty means huggingface.co. */
    huggingFaceEndpoint: string;
};

export type MemorySettings = {
    /**
     * Memory the model's weights may keep resident, in MiB, or `auto` (three quarters of what the
     * machine, or the server's memory cgroup, has available when the model loads). A MoE model
     * larger than it runs with the expert cache (server/cache/); a model that fits is not touched.
     */
    budget: "auto" | number;
    /**
     * With the expert cache: also read the experts the next layer will probably choose (this
     * layer's router input through the next layer's router), a layer early. Off by default: on
     * this project's measurements it predicts most choices but decodes slower (docs/bench-cache.md).
     */
    prefetchNextLayer: boolean;
};

/** Where a model offloaded to a GPU keeps its expert weights (server/engine/expertPlacement.ts). */
export type ExpertsOnCpu = "off" | "all" | number;

type GpuSettings = {
    /** Keep MoE expert weights in RAM: `off`, `all` layers, or the first N layers (llama-server's --cpu-moe / --n-cpu-moe N). */
    expertsOnCpu: ExpertsOnCpu;
};

type ChatSettings = {
    /** Experts per token for chat answers whose conversation asks for `auto`: `auto` (the trained count) or a number. */
    experts: "auto" | number;
    /** A GGUF for chat only (say an Instruct model beside a FIM Base model); empty means the completion model. */
    modelPath: string;
    /** Sampling of chat answers, per parameter: `model` (the model's recommendation, server/chat/sampling.ts) or a value. */
    sampling: ChatSamplingSettings;
    /** `random`, or a seed that makes a sampled answer the same each time. */
    seed: "random" | number;
};

/** How chat answers are sampled (completion is greedy). */
export type ChatSampling = {
    temperature: number;
    topP: number;
    /** 0: off (the whole vocabulary). */
    topK: number;
    minP: number;
    /** 1: off. Over the last 64 tokens of the answer. */
    repeatPenalty: number;
    presencePenalty: number;
};

export type ChatSamplingSettings = { [K in keyof ChatSampling]: "model" | number };

export type CompletionSettings = {
    enabled: boolean;
    /** Experts per token for completion: `auto` (the server's measured default) or a number. */
    experts: "auto" | number;
    /** Wait this long after the last keystroke before computing (a newer keystroke cancels). */
    debounceMs: number;
    /** Stop generating after this many tokens. */
    maxTokens: number;
    /** Stop generating after this long, and return what there is. */
    timeBudgetMs: number;
    /** Lines of the current file before and after the cursor that go into the prompt. */
    prefixLines: number;
    suffixLines: number;
    /** Snippets of other open files that go into the prompt when it has room. */
    extraContext: boolean;
    /** Favour what followed the same tokens earlier in the prompt (server/completion/repetitionPrior.ts). */
    repetitionPrior: "auto" | "on" | "off";
};

/** Settings as a client may send them: any part of them (the server fills in and validates the rest). */
type SettingsInput = Partial<Omit<Settings, "completion" | "chat" | "gpu" | "models" | "remote" | "workspace">> & {
    completion?: Partial<CompletionSettings>;
    chat?: Partial<ChatSettings>;
    gpu?: Partial<GpuSettings>;
    models?: Partial<ModelsSettings>;
    remote?: Partial<RemoteSettings>;
    workspace?: Partial<WorkspaceSettings>;
};

/** What the client passes in `initialize`. */
export type InitializationOptions = {
    settings?: SettingsInput;
    /** Where the extension is installed: the embedded model lives under it. */
    extensionRoot?: string;
    /** The remote engine's API key from the editor's secret storage (see RemoteCredentialsNotification). */
    remoteApiKey?: string;
    /** Where the workspace index may keep its store (VS Code: the extension's storage for this workspace). Else a cache folder. */
    storagePath?: string;
    /** The client answers DefinitionsRequest from the editor's language features. */
    definitions?: boolean;
};

type ServerState = "starting" | "loading" | "ready" | "error";

/** How the model's expert count is controlled right now. */
export type ExpertMode =
    /** The model is not a Mixture of Experts: expert settings do not apply. */
    | "not-moe"
    /** A remote engine runs the model: the MoE controls are not available. */
    | "remote"
    /** The native runtime (native/): each workload's count on one model instance, changed without reloading. */
    | "native"
    /** Stock binaries, the trained count; no override was asked for. */
    | "trained"
    /** Per-workload counts through a second model instance loaded with a metadata override (shares the mmapped weights). */
    | "override";

export type ModelSummary = {
    name: string;
    path: string;
    architecture: string;
    /** Size of the file in bytes. */
    sizeBytes: number;
    isMoe: boolean;
    /** Experts per MoE layer (0 for a dense model). */
    expertCount: number;
    /** Experts used per token as trained (0 for a dense model). */
    trainedK: number;
    /** Whether the model has fill-in-the-middle tokens; without them completion uses a family template or plain continuation. */
    fimSource: "gguf-tokens" | "family-template" | "none";
    /** The file is the embedded demo model. */
    isEmbedded: boolean;
    /** The chat model, when chat runs on another file (`chat.modelPath`). */
    chat?: { name: string; path: string; isMoe: boolean; expertCount: number; trainedK: number };
};

/** Adaptive routing: each token keeps the fewest of its top experts whose renormalised gate mass reaches `p` (at least `kMin`). */
export type AdaptiveRouting = { p: number; kMin: number };

export type StatusParams = {
    state: ServerState;
    model?: ModelSummary;
    /** Experts per token the completion workload uses now (0 when not MoE). */
    completionK?: number;
    /** Adaptive routing on top of `completionK` (its cap), when on. */
    completionAdaptive?: AdaptiveRouting;
    expertMode?: ExpertMode;
    /** Generation speed of the last completion, tokens per second. */
    tokensPerSecond?: number;
    /** For `error`: what went wrong, in words the user can act on. */
    message?: string;
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

/** Client → server: the remote engine's API key, from the editor's secret storage (never from settings); empty clears it. Kept in memory only. */
export namespace RemoteCredentialsNotification {
    export const method = "moePilot/remote/credentials";
    export const type = new NotificationType<{ apiKey: string }>(method);
}

/** What the server holds of an open document: its version and text (null when it is not open). */
export type DocumentTextResult = { version: number; text: string } | null;

/**
 * Client → server: the text of a document as the server sees it, after every `didChange` it
 * applied (rust-analyzer's `viewFileText`): for finding where a client and the server disagree.
 */
export namespace DocumentTextRequest {
    export const method = "moePilot/document/text";
    export const type = new RequestType<{ uri: string }, DocumentTextResult, void>(method);
}

/** Client → server: unload and load the model again with the current settings. */
export namespace ReloadModelRequest {
    export const method = "moePilot/model/reload";
    export const type = new RequestType0<StatusParams, void>(method);
}

export type ChatMessage = { role: "user" | "assistant"; content: string };

/** Context the user attached to a chat message and can see in the panel. */
export type ChatAttachment = {
    /** `workspace`: a chunk the workspace index retrieved for the question (ChatParams.workspace). */
    kind: "selection" | "file" | "diagnostics" | "workspace";
    /** What the panel shows, e.g. "src/a.ts:10-20". */
    label: string;
    text: string;
};

export type ChatParams = WorkDoneProgressParams &
    PartialResultParams & {
        /** The conversation; the last message is the user's new one. */
        messages: ChatMessage[];
        attachments?: ChatAttachment[];
        /** Experts per token for this chat (MoE models): `auto` is the expert-count policy's choice (`chat.experts`). */
        k?: "auto" | number;
        /** Most tokens the answer may take. Defaults to 512. */
        maxTokens?: number;
        /**
         * `@workspace`: the server retrieves the workspace chunks that best answer the last message
         * and attaches them (after the client's attachments, under the same context-window policy).
         */
        workspace?: boolean;
    };

/** A workspace chunk a chat answer was given, for the panel to show and open. */
export type ChatReference = { label: string; uri: string; startLine: number; endLine: number };

/**
 * One streamed piece of the answer, sent as `$/progress` with the request's `partialResultToken`;
 * with the native runtime, also which experts the tokens of this piece went through.
 */
export type ChatChunk = {
    text: string;
    routing?: RoutingActivity;
    /** Sent once, before the answer's text: the workspace chunks retrieved for it. */
    references?: ChatReference[];
};

/** Per MoE layer (index = layer), how many tokens each expert took. */
export type RoutingActivity = { expertCount: number; layers: number[][] };

export type ChatResult = {
    /** The whole answer (the chunks, joined). */
    text: string;
    /** `repeating`: the model was looping and the answer was cut where the loop began (server/chat/answerGuard.ts). */
    stopReason: "end-of-turn" | "max-tokens" | "cancelled" | "repeating";
    promptTokens: number;
    generatedTokens: number;
    tokensPerSecond: number;
    /** Experts per token the answer ran with (0: not a MoE model, or a remote engine). */
    k: number;
    /** What the context-window policy left out to fit, said to the user rather than done silently. */
    trimmed: { attachments: string[]; earlierMessages: number };
    /** The workspace chunks retrieved for `@workspace` and given to the model (those the policy kept). */
    references: ChatReference[];
    /** The chat template used: the model's own, or a general default when it has none. */
    template: { name: string; fromModel: boolean };
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
    layer: number;
    /** Tokens routed to each expert. */
    load: number[];
    /** Entropy of `load`, in bits: log2(experts) when perfectly even. */
    loadEntropyBits: number;
    /** Share of a token's experts that the previous token also used (undefined before two tokens). */
    previousTokenOverlap?: number;
    /** Best hit rate of a per-layer cache of C experts (key) over 64-token windows. */
    windowHitRate?: Record<number, number>;
};

/** `averageK`: experts a token used per MoE layer, on average (below the k in use under adaptive routing). */
export type WorkloadRouting = { tokens: number; averageK: number; droppedRows: number; layers: LayerRouting[] };

/** The expert cache's state (server/cache/ExpertCache.ts). */
export type ExpertCacheStatus = {
    /** `off`: not needed (the model fits the budget) or not possible; `on`: the model runs with it. */
    state: "on" | "off";
    /** Why it is off, or a note on how it runs (pinning refused, say). */
    reason?: string;
    budgetBytes: number;
    modelBytes: number;
    quotaPerLayer?: number;
    policy?: string;
    /** Share of expert uses found in the pinned quota (as the policy keeps it), since the load. */
    hitRate?: number;
    /** Bytes the server read from storage per token since the load. */
    diskBytesPerToken?: number;
    /** Share of the experts the layers chose that the next-layer prediction had started reading a layer earlier. */
    predictedShare?: number;
    /** Share of the chosen experts' bytes the prefetch found in memory (kept or still in the page cache), since the load. */
    inMemoryShare?: number;
    /** Weights pinned in memory: non-expert weights and the pinned experts. */
    pinnedBytes?: number;
    tokens?: number;
};

/** Speculative decoding on the completion sequence (server/speculation/), since the load. */
export type SpeculationStatus = {
    on: boolean;
    /** Why, in words: the setting, or what `auto` saw. */
    reason: string;
    /** Drafts verified, tokens drafted, draft tokens the model agreed with. */
    drafts: number;
    drafted: number;
    accepted: number;
};

export type RoutingStatsResult = {
    /** False with stock llama.cpp binaries (no trace) or a dense model. */
    available: boolean;
    cache?: ExpertCacheStatus;
    /** Why not, in words. */
    reason?: string;
    expertCount: number;
    trainedK: number;
    completion?: WorkloadRouting;
    chat?: WorkloadRouting;
    /** Local models only (a remote engine has none). */
    speculation?: SpeculationStatus;
};

/** Client → server: the routing statistics of each workload since the model was loaded. */
export namespace RoutingStatsRequest {
    export const method = "moePilot/routing/stats";
    export const type = new RequestType0<RoutingStatsResult, void>(method);
}

/* ---------------------------------------------------------------------------------------------
 * Models: the registry, downloads, inspection (server/models/)
 * ------------------------------------------------------------------------------------------- */

/** A recommended model (server/models/registry.json). */
export type RegistryModel = {
    id: string;
    name: string;
    /** node-llama-cpp model URI: `hf:<user>/<repo>/<file>.gguf`. */
    uri: string;
    quantization: string;
    fileBytes: number;
    /** The file plus a 4096-token context and runtime buffers. */
    ramBytes: number;
    parameters: { totalB: number; activeB: number };
    /** Routed experts per layer (and shared ones, where the model has them), the trained k, and the starting k per workload (null: not for that workload). */
    experts: {
        expertCount: number;
        sharedCount?: number;
        trainedK: number;
        recommendedK: { completion: number | null; chat: number | null };
    };
    /** The FIM format ("qwen", "deepseek"), or null for a chat-only model. */
    fim: string | null;
    /** Chat sampling as the model's authors publish it (their generation config); what they leave out is off. */
    chatSampling?: Partial<ChatSampling>;
    roles: ("completion" | "chat")[];
    license: string;
    note: string;
    /** SHA-256 of the file when known: checked after download. */
    sha256?: string;
};

export type ModelFit = {
    /** `fits` in the memory available now; `expert-cache` runs with part of its experts on disk; `too-large` does not run usefully. */
    verdict: "fits" | "expert-cache" | "too-large";
    reason: string;
};

export type ModelListResult = {
    machine: { totalMemoryBytes: number; availableMemoryBytes: number; modelDirectory: string; freeDiskBytes?: number };
    models: (RegistryModel & { fit: ModelFit; /** Where it is when already downloaded. */ downloadedPath?: string })[];
};

/** Client → server: the registry, with what fits this machine and what is downloaded. */
export namespace ModelListRequest {
    export const method = "moePilot/models/list";
    export const type = new RequestType0<ModelListResult, void>(method);
}

/** A registry id, or a model URI (`hf:…`, `https://…`) with an optional checksum. */
export type DownloadParams = WorkDoneProgressParams & ({ id: string } | { uri: string; sha256?: string });

export type DownloadResult = {
    /** The file to load (the first part of a split model). */
    path: string;
    files: string[];
    bytes: number;
    /** Bytes that an earlier, interrupted download had already fetched. */
    resumedBytes: number;
    /** `sha256` when the registry knew the checksum; else `size` (sizes and a GGUF inspection). */
    verified: "sha256" | "size";
    /** The model was already in the model directory: nothing was fetched. */
    alreadyPresent: boolean;
};

/**
 * Client → server: download a model into `moePilot.models.directory`, only ever on the user's
 * request. Progress is `$/progress` on the request's `workDoneToken` (bytes, speed, time left);
 * `$/cancelRequest` stops it and keeps the partial file for a later resume. The file is checked
 * (size, checksum when known, GGUF inspection) before it appears in the directory.
 */
export namespace DownloadModelRequest {
    export const method = "moePilot/model/download";
    export const type = new ProtocolRequestType<DownloadParams, DownloadResult, never, { problem: string }, void>(
        method
    );
}

/** What the server knows of a model file without loading it (server/models/modelCard.ts). */
export type ModelCard = {
    path: string;
    name: string;
    architecture: string;
    sizeBytes: number;
    /** Files (a split GGUF has several). */
    parts: number;
    quantization?: string;
    layerCount: number;
    trainContextSize?: number;
    isMoe: boolean;
    expertCount: number;
    trainedK: number;
    sharedExpertCount?: number;
    /** Fill-in-the-middle: the model's own tokens, a known family's template, or none (chat only). */
    fim: { source: "gguf-tokens" | "family-template" | "none"; family: string };
    chatTemplate: boolean;
    /** Memory it needs with the configured context, and whether this machine has it. */
    memory: { needBytes: number; fit: ModelFit };
    registry?: { id: string; recommendedK: { completion: number | null; chat: number | null } };
    /** How chat answers on it are sampled, and where that comes from (server/chat/sampling.ts). */
    chatSampling: string;
};

/** Client → server: inspect a GGUF before using it. A file that cannot work is refused with a precise message (a ResponseError). */
export namespace InspectModelRequest {
    export const method = "moePilot/model/inspect";
    export const type = new RequestType<{ path: string }, ModelCard, { problem: string }>(method);
}

export type LoadedModelCard = {
    completion?: ModelCard;
    /** Present when chat runs on a model of its own (`moePilot.chat.modelPath`). */
    chat?: ModelCard;
    status: StatusParams;
    routing: RoutingStatsResult;
};

/** Client → server: the loaded model's card with live expert statistics. */
export namespace ModelCardRequest {
    export const method = "moePilot/model/card";
    export const type = new RequestType0<LoadedModelCard, void>(method);
}

/** A piece of a workspace file the index found: where it is (lines, 0-based) and its text. */
export type WorkspaceChunk = {
    uri: string;
    /** Relative to its workspace folder, for showing. */
    path: string;
    startLine: number;
    endLine: number;
    /** The symbols it defines, or the one it sits in. */
    symbols: string[];
    text: string;
    score: number;
};

type WorkspaceSearchParams = {
    query: string;
    limit?: number;
    /** Order BM25's candidates by the model's routing ("routing") or not ("off"); default: `workspace.rerank`. */
    rerank?: "routing" | "off";
};

/** Client → server: the workspace chunks that best answer `query` (what a chat's `@workspace` attaches). */
export namespace WorkspaceSearchRequest {
    export const method = "moePilot/workspace/search";
    export const type = new RequestType<WorkspaceSearchParams, { chunks: WorkspaceChunk[] }, void>(method);
}

export type IndexStatus = {
    state: "off" | "indexing" | "ready" | "error";
    folders: string[];
    files: number;
    chunks: number;
    /** Characters of chunk text the index holds. */
    textChars: number;
    /** Files the last pass read from disk (the rest came from the store unchanged). */
    filesRead: number;
    /** How long the last pass took. */
    passMs?: number;
    /** The store on disk, or why there is none. */
    store: string;
    /** Something the user should know: a cap reached, a store that could not open. */
    note?: string;
};

/** Client → server: how far the workspace index is. */
export namespace IndexStatusRequest {
    export const method = "moePilot/workspace/status";
    export const type = new RequestType0<IndexStatus, void>(method);
}

type DefinitionsParams = {
    textDocument: { uri: string };
    positions: { line: number; character: number }[];
    /** `typeDefinition`: where the type of the value at each position is declared (go to type definition). Default: `definition`. */
    kind?: "definition" | "typeDefinition";
};

/**
 * Server → client: where the names at `positions` are defined, by the editor's language features
 * (Tabby's agent reads declarations the same way). One list of locations per position. Sent only
 * to a client that set `initializationOptions.definitions`.
 */
export namespace DefinitionsRequest {
    export const method = "moePilot/definitions";
    export const type = new RequestType<
        DefinitionsParams,
        {
            uri: string;
            range: { start: { line: number; character: number }; end: { line: number; character: number } };
        }[][],
        void
    >(method);
}

export type NextEditParams = { textDocument: { uri: string }; position: { line: number; character: number } };

/** A proposed edit: its range in the document's current version, and the text that replaces it. */
export type NextEditItem = {
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    newText: string;
};

/**
 * Client → server: after the user's edits, the edit they will likely make next, anywhere in the
 * document (an empty list when there is nothing to propose). Any LSP client can call it; the
 * server keeps the edit history from the document changes it receives.
 */
export namespace NextEditRequest {
    export const method = "moePilot/nextEdit";
    export const type = new RequestType<NextEditParams, { items: NextEditItem[] }, void>(method);
}
