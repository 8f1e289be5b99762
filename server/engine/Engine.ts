/**
 * The engine: node-llama-cpp's llama.cpp, one loaded model, the completion context, and the
 * compute lane every evaluation goes through.
 *
 * Per-workload expert counts. With the native runtime (native/, the patched llama.cpp), one
 * model instance serves every count: the completion context and the chat context each carry
 * their own `k`, set between evaluations (nativeMoe.ts). Without it (node-llama-cpp's prebuilt
 * binaries), a workload that wants a count other than the trained one gets a second model
 * instance loaded with `metadataOverrides` (`<arch>.expert_used_count = k`); both instances
 * memory-map the same file, so the weights are shared pages and the second costs a context.
 */
import path from "node:path";
import {
    type ChatWrapper, GeneralChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, LlamaLogLevel, getLlama, resolveChatWrapper
} from "node-llama-cpp";
import type { ExpertCacheStatus, ExpertMode, ModelSummary, Settings } from "../protocol";
import { inspectModel, type ModelInspection } from "../models/inspectModel";
import { embeddedModelPath, isEmbeddedModel, verifyEmbeddedModel } from "../models/embeddedModel";
import { ComputeLane, Priority } from "./ComputeLane";
import { createTokenDecoder, type TokenDecoder, vocabularyTexts } from "./tokenText";
import type { FimTokens, Tokenizer } from "../completion/fimFormats";
import { modelFim } from "../completion/modelFim";
import { NativeMoeContext, type RoutingRow, llamaBinaries } from "./nativeMoe";
import { expertPlacementOverrides } from "./expertPlacement";
import { ExpertCache } from "../cache/ExpertCache";
import { expertLayout } from "../cache/expertSlices";
import { memoryBudgetBytes } from "../cache/memoryBudget";
import { modelCard } from "../models/modelCard";
import { registryModelForFile } from "../models/registry";
import { RoutingStats } from "../routing/RoutingStats";
import { EngineNotReadyError, ModelFileError, errorMessage } from "./errors";
import type { Logger } from "../log";

/** What a completion needs from the engine, valid until the next load. */
export type CompletionBackend = {
    model: LlamaModel,
    sequence: LlamaContextSequence,
    /** Token ids to text, exactly (see tokenText.ts). */
    decode: TokenDecoder,
    /** The model's FIM format and the tokenizer prompts are built with. */
    fim: FimTokens,
    tokenizer: Tokenizer,
    /** Each token's text, for token healing's constraint (index = token id). */
    vocabulary: readonly string[],
    contextSize: number,
    experts: number,
    /** The native runtime's controls on the completion context (undefined in the fallback mode). */
    moe?: NativeMoeContext,
    /** Changes whenever what makes suggestions changes (a load, an expert count): cached suggestions are keyed by it. */
    identity: string
};

/** What a chat needs: its own context on the model instance for its expert count. */
export type ChatBackend = {
    model: LlamaModel,
    sequence: LlamaContextSequence,
    decode: TokenDecoder,
    contextSize: number,
    experts: number,
    chatWrapper: ChatWrapper,
    /** False when the model has no chat template and a general default is used. */
    templateFromModel: boolean,
    /** Call on the compute lane before evaluating: puts the context at this chat's expert count. */
    enter(): Promise<void>,
    /** The native runtime's controls on the chat context (undefined in the fallback mode). */
    moe?: NativeMoeContext
};

type ChatContext = Omit<ChatBackend, "experts" | "enter"> & { context: LlamaContext };

export type EngineLoadResult = {
    summary: ModelSummary,
    completionExperts: number,
    expertMode: ExpertMode,
    /** Setting problems found while loading (e.g. an expert count the model does not have). */
    warnings: string[]
};

export type LoadProgress = (message: string, percentage: number) => void;

export type Workload = "completion" | "chat";

/** Unread trace rows are kept up to this many bytes per context (a long prompt's oldest rows are dropped, and counted). */
const TRACE_BUFFER_BYTES = 16 << 20;
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

export class Engine {
    readonly lane = new ComputeLane();
    private llama?: Promise<Llama>;
    private models = new Map<string, LlamaModel>();
    private context?: LlamaContext;
    private backend?: CompletionBackend;
    /** Chat contexts by expert count (fallback: one per count; native: one, under key -1). */
    private chats = new Map<number, Promise<ChatContext>>();
    private loaded?: {
        inspection: ModelInspection,
        /** The chat model when it is another file (`chat.modelPath`), else undefined: chat runs on `inspection`. */
        chatInspection?: ModelInspection,
        settings: Settings, threads: number, native: boolean
    };
    private loadGeneration = 0;
    /** Routing statistics per workload since the load (native runtime on a MoE model only). */
    routing?: Record<Workload, RoutingStats>;
    private expertCache?: ExpertCache;
    private cacheStatus?: ExpertCacheStatus;

    constructor(private readonly log: Logger) {}

    get completion(): CompletionBackend | undefined { return this.backend; }

    /** Unloads what is loaded and loads `settings.modelPath` (or the embedded model). A newer call supersedes an older one still running. */
    async load(settings: Settings, extensionRoot: string, progress: LoadProgress): Promise<EngineLoadResult> {
        const generation = ++this.loadGeneration;
        const superseded = () => generation !== this.loadGeneration;
        await this.unload();

        const modelPath = settings.modelPath || embeddedModelPath(extensionRoot);
        const embedded = isEmbeddedModel(modelPath, extensionRoot);
        progress("Inspecting model file", 5);
        const warnings: string[] = [];
        const inspection = await inspectModel(modelPath);
        if (embedded) await verifyEmbeddedModel(modelPath);

        const chatInspection = await this.inspectChatModel(inspection, settings, warnings);

        progress("Starting llama.cpp", 15);
        const llama = await this.getLlama();
        this.log.info(`llama.cpp: ${llama.buildType === "localBuild" ? "local build" : "prebuilt binaries"}, native MoE runtime ${NativeMoeContext.isAvailable(llama) ? "on" : "off"}`);
        const threads = settings.threads || Math.max(1, llama.cpuMathCores - 1);

        const native = inspection.expertCount > 0 && NativeMoeContext.isAvailable(llama);
        const { experts, mode } = this.completionExperts(inspection, settings.completion.experts, native, warnings);

        this.placeExperts(llama, inspection, settings, warnings);
        progress(`Loading ${inspection.name}`, 30);
        const model = await this.loadModel(llama, inspection, native ? inspection.expertUsedCount : experts);
        if (superseded()) throw new SupersededLoadError();
        this.startExpertCache(llama, inspection, settings, native, warnings);

        progress("Creating completion context", 80);
        const contextSize = Math.min(settings.contextSize, inspection.trainContextSize ?? settings.contextSize);
        const context = await model.createContext({ contextSize, threads, sequences: 1 });
        if (superseded()) { await context.dispose(); throw new SupersededLoadError(); }
        this.context = context;
        this.loaded = { inspection, chatInspection, settings, threads, native };
        const moe = native ? NativeMoeContext.of(context, inspection.expertCount) : undefined;
        moe?.setExperts(experts);
        if (moe) {
            this.startTrace(moe, inspection.expertCount);
            const chatModel = chatInspection ?? inspection;
            this.routing = { completion: new RoutingStats(inspection.expertCount, inspection.expertUsedCount), chat: new RoutingStats(chatModel.expertCount, chatModel.expertUsedCount) };
        }
        const { fim, tokenizer } = modelFim(model);
        const decode = createTokenDecoder(model, inspection.fileInfo);
        this.backend = { model, sequence: context.getSequence(), decode, fim, tokenizer, vocabulary: vocabularyTexts(inspection.fileInfo, decode), contextSize: context.contextSize, experts, moe,
            identity: `${generation}/k${experts}` };
        this.log.info(`completion prompt format: ${fim.source} (${fim.family}, ${fim.order.toUpperCase()})`);
        this.log.info(`loaded ${inspection.path} (${inspection.architecture}, ${inspection.expertCount} experts, completion k=${experts}, ${mode}), context ${context.contextSize} tokens, ${threads} threads`);

        return {
            summary: {
                name: inspection.name,
                path: inspection.path,
                architecture: inspection.architecture,
                sizeBytes: inspection.sizeBytes,
                isMoe: inspection.expertCount > 0,
                expertCount: inspection.expertCount,
                expertUsedCount: inspection.expertUsedCount,
                fimSource: fim.source,
                isEmbedded: embedded,
                chat: chatInspection ? { name: chatInspection.name, path: chatInspection.path, isMoe: chatInspection.expertCount > 0, expertCount: chatInspection.expertCount, expertUsedCount: chatInspection.expertUsedCount } : undefined
            },
            completionExperts: experts,
            expertMode: mode,
            warnings
        };
    }

    /**
     * Changes the completion workload's expert count. With the native runtime it takes effect at
     * the next completion, on the same context (whose cached prompt, computed at the old count, is
     * dropped); in the fallback mode it needs a load, and this returns false.
     */
    async setCompletionExperts(wanted: "auto" | number): Promise<{ applied: boolean, experts: number, mode: ExpertMode, warnings: string[] }> {
        const loaded = this.loaded;
        const backend = this.backend;
        if (!loaded || !backend?.moe) return { applied: false, experts: backend?.experts ?? 0, mode: "trained", warnings: [] };
        const warnings: string[] = [];
        const { experts, mode } = this.completionExperts(loaded.inspection, wanted, true, warnings);
        // On the lane: never change a context's graph while one of its evaluations runs.
        await this.lane.run(Priority.Completion, undefined, async () => {
            if (this.backend !== backend) return; // a load replaced it meanwhile
            if (backend.moe!.experts !== experts) {
                backend.moe!.setExperts(experts);
                await backend.sequence.clearHistory();
            }
            backend.experts = experts;
            backend.identity = `${this.loadGeneration}/k${experts}`;
        });
        this.log.info(`completion k=${experts} (${mode})`);
        return { applied: true, experts, mode, warnings };
    }

    /**
     * The chat backend for `experts` per token (`auto`: the trained count). Its context is created
     * on first use and kept, so the next turn of a conversation reuses its KV cache: with the native
     * runtime one context serves every count, in the fallback mode there is one per count.
     */
    async chat(experts: "auto" | number): Promise<ChatBackend> {
        const loaded = this.loaded;
        if (!loaded) throw new EngineNotReadyError();
        const { settings, threads } = loaded;
        const inspection = loaded.chatInspection ?? loaded.inspection;
        const native = inspection.expertCount > 0 && NativeMoeContext.isAvailable(await this.getLlama());
        const k = inspection.expertCount === 0 ? 0
            : experts === "auto" ? inspection.expertUsedCount
            : Math.max(1, Math.min(inspection.expertCount, experts));
        const key = native ? -1 : k;
        let chat = this.chats.get(key);
        if (!chat) {
            // Kept as a promise, so two chats starting at once share one context.
            chat = this.createChat(inspection, settings, threads, native ? inspection.expertUsedCount : k || inspection.expertUsedCount, native);
            this.chats.set(key, chat);
            chat.catch(() => this.chats.delete(key));
        }
        const shared = await chat;
        return {
            ...shared, experts: k,
            enter: async () => {
                // The cached conversation was computed at another count: evaluate it again at this one.
                if (shared.moe && k > 0 && shared.moe.experts !== k) {
                    shared.moe.setExperts(k);
                    await shared.sequence.clearHistory();
                }
            }
        };
    }

    private async createChat(inspection: ModelInspection, settings: Settings, threads: number, modelExperts: number, native: boolean): Promise<ChatContext> {
        const model = await this.loadModel(await this.getLlama(), inspection, modelExperts);
        const contextSize = Math.min(settings.contextSize, inspection.trainContextSize ?? settings.contextSize);
        const context = await model.createContext({ contextSize, threads, sequences: 1 });
        const templateFromModel = typeof model.fileInfo.metadata.tokenizer?.chat_template === "string";
        return {
            model, context, sequence: context.getSequence(), decode: createTokenDecoder(model, inspection.fileInfo),
            contextSize: context.contextSize,
            chatWrapper: templateFromModel ? resolveChatWrapper(model) : new GeneralChatWrapper(),
            templateFromModel,
            moe: native ? this.trackChat(this.startTrace(NativeMoeContext.of(context, inspection.expertCount), inspection.expertCount, inspection.path)) : undefined
        };
    }

    /** Chat contexts' native controls (for the prefetch statistics). */
    private chatMoe = new Set<NativeMoeContext>();
    private trackChat(moe: NativeMoeContext | undefined): NativeMoeContext | undefined {
        if (moe) this.chatMoe.add(moe);
        return moe;
    }

    private startTrace(moe: NativeMoeContext | undefined, expertCount: number, modelPath?: string): NativeMoeContext | undefined {
        // a row: layer, position, count, then an id and a weight per expert
        moe?.setTrace(true, Math.floor(TRACE_BUFFER_BYTES / (12 + 8 * expertCount)));
        // The expert cache manages the completion model's file: a separate chat model's contexts do not prefetch into it.
        if (moe && this.expertCache && this.loaded && (modelPath === undefined || modelPath === this.loaded.inspection.path)) {
            const prefetch = moe.setPrefetch(this.loaded.inspection.path, this.expertCache.prefetchTable(), this.loaded.settings.memory.prefetchNextLayer);
            if (prefetch !== true) this.log.warn(`expert prefetch: ${prefetch}`);
        }
        return moe;
    }

    /**
     * The expert cache (server/cache/), when the model is larger than the memory budget: off, with
     * the reason, when it fits, is dense, or runs on stock binaries.
     */
    private startExpertCache(llama: Llama, inspection: ModelInspection, settings: Settings, native: boolean, warnings: string[]) {
        const budget = memoryBudgetBytes(settings.memory.budget);
        const off = (reason: string) => { this.cacheStatus = { state: "off", reason, budgetBytes: budget.bytes, modelBytes: inspection.sizeBytes }; };
        if (inspection.sizeBytes <= budget.bytes) return off(`the model (${mib(inspection.sizeBytes)}) fits in the memory budget (${mib(budget.bytes)}, ${budget.source})`);
        if (inspection.expertCount === 0) return off("a dense model has no experts to cache");
        if (inspection.parts.length > 1) {
            warnings.push(`The model (${mib(inspection.sizeBytes)}) is larger than the memory budget (${mib(budget.bytes)}); the expert cache does not handle split GGUFs yet (merge the parts with llama-gguf-split --merge), so the kernel decides what stays in memory.`);
            return off("the expert cache does not handle split GGUFs yet");
        }
        if (process.platform !== "linux") {
            warnings.push(`The model (${mib(inspection.sizeBytes)}) is larger than the memory budget (${mib(budget.bytes)}); the expert cache runs on Linux only, so the operating system decides what stays in memory.`);
            return off("the expert cache runs on Linux only (mlock, madvise, mincore)");
        }
        const control = native ? NativeMoeContext.memoryControl(llama, inspection.path) : undefined;
        if (!control) {
            warnings.push(`The model (${mib(inspection.sizeBytes)}) is larger than the memory budget (${mib(budget.bytes)}); the expert cache needs the native MoE runtime (npm run native), so the kernel decides what stays in memory.`);
            return off("the expert cache needs the native MoE runtime");
        }
        const layout = expertLayout(inspection.fileInfo.fullTensorInfo ?? [], NativeMoeContext.typeGeometry(llama), inspection.sizeBytes);
        if (!layout) return off("no expert tensors were found in the file");
        const cache = ExpertCache.create(layout, inspection.sizeBytes, budget.bytes, inspection.expertUsedCount, control);
        if (typeof cache === "string") {
            warnings.push(`The expert cache is off: ${cache}. Raise moePilot.memory.budget.`);
            return off(cache);
        }
        this.expertCache = cache;
        this.cacheStatus = { state: "on", budgetBytes: budget.bytes, modelBytes: inspection.sizeBytes };
        this.log.info(`expert cache on: ${mib(inspection.sizeBytes)} model, budget ${mib(budget.bytes)} (${budget.source}), ${cache.quotaPerLayer} of ${layout.expertCount} experts pinned per layer`);
    }

    /** The expert cache's state and statistics since the load. */
    expertCacheStatus(): ExpertCacheStatus | undefined {
        if (!this.cacheStatus || !this.expertCache) return this.cacheStatus;
        const s = this.expertCache.stats();
        // The contexts that prefetch into the cache: the completion context and a chat context on the same model.
        const contexts = [this.backend?.moe, ...(this.loaded?.chatInspection ? [] : [...this.chatMoe])];
        const prediction = contexts.reduce((sum, moe) => {
            const p = moe?.prefetchStats();
            return p ? { predicted: sum.predicted + p.predicted, chosen: sum.chosen + p.chosen } : sum;
        }, { predicted: 0, chosen: 0 });
        return {
            ...this.cacheStatus, quotaPerLayer: s.quotaPerLayer, policy: s.policy, hitRate: s.uses > 0 ? s.hits / s.uses : undefined,
            predictedShare: prediction.chosen > 0 ? prediction.predicted / prediction.chosen : undefined,
            diskBytesPerToken: s.diskBytesPerToken, pinnedBytes: s.pinnedBytes, tokens: s.tokens, reason: s.note
        };
    }

    /** Takes the routing rows `moe`'s context recorded since the last call into `workload`'s statistics, and returns them. Call on the lane. */
    takeRouting(workload: Workload, moe: NativeMoeContext | undefined): RoutingRow[] {
        if (!moe || !this.routing) return [];
        const { rows, dropped } = moe.readTrace();
        this.routing[workload].add(rows, dropped);
        if (workload === "completion" || !this.loaded?.chatInspection) this.expertCache?.observe(rows);
        return rows;
    }

    async unload() {
        const context = this.context;
        this.backend = undefined;
        this.context = undefined;
        this.loaded = undefined;
        this.routing = undefined;
        this.expertCache?.dispose();
        this.expertCache = undefined;
        this.cacheStatus = undefined;
        const chats = [...this.chats.values()];
        this.chats.clear();
        this.chatMoe.clear();
        for (const chat of chats) await (await chat.catch(() => undefined))?.context.dispose();
        await context?.dispose();
        for (const model of this.models.values()) await model.dispose();
        this.models.clear();
    }

    async dispose() {
        this.loadGeneration++;
        await this.unload();
        const llama = await this.llama?.catch(() => undefined);
        await llama?.dispose();
    }

    /** The models loaded now: the completion model, and the chat model when it is another file. */
    get inspections(): { completion?: ModelInspection, chat?: ModelInspection } {
        return { completion: this.loaded?.inspection, chat: this.loaded?.chatInspection };
    }

    /**
     * The chat model when `chat.modelPath` names another file: inspected, and checked to fit in
     * memory beside the completion model. When it cannot be used, chat runs on the completion model
     * and the user is told why.
     */
    private async inspectChatModel(completion: ModelInspection, settings: Settings, warnings: string[]): Promise<ModelInspection | undefined> {
        const chatPath = settings.chat.modelPath;
        if (!chatPath || path.resolve(chatPath) === path.resolve(completion.path)) return undefined;
        let chat: ModelInspection;
        try {
            chat = await inspectModel(chatPath);
        } catch (e: unknown) {
            warnings.push(`The chat model cannot be used, so chat runs on ${completion.name}: ${errorMessage(e)}`);
            return undefined;
        }
        const [a, b] = await Promise.all([modelCard(completion, settings.contextSize), modelCard(chat, settings.contextSize)]);
        const budget = memoryBudgetBytes(settings.memory.budget);
        if (a.memory.needBytes + b.memory.needBytes > budget.bytes) {
            warnings.push(`${chat.name} (about ${mib(b.memory.needBytes)}) and ${completion.name} (about ${mib(a.memory.needBytes)}) do not fit in memory together (budget ${mib(budget.bytes)}, ${budget.source}), so chat runs on ${completion.name}. Choose a smaller chat model, or clear moePilot.chat.modelPath to use one model for both.`);
            return undefined;
        }
        return chat;
    }

    private completionExperts(inspection: ModelInspection, wanted: "auto" | number, native: boolean, warnings: string[]): { experts: number, mode: ExpertMode } {
        if (inspection.expertCount === 0) return { experts: 0, mode: "not-moe" };
        const overridden: ExpertMode = native ? "native" : "override";
        // `auto`: the registry's starting point for a model it lists (registry.json), else the trained count.
        const recommended = registryModelForFile(inspection.path)?.experts.completion;
        if (wanted === "auto" && recommended && recommended < inspection.expertUsedCount) return { experts: recommended, mode: overridden };
        if (wanted === "auto" || wanted === inspection.expertUsedCount) return { experts: inspection.expertUsedCount, mode: native ? "native" : "trained" };
        if (wanted > inspection.expertCount) {
            warnings.push(`moePilot.completion.experts is ${wanted}, but ${inspection.name} has ${inspection.expertCount} experts per layer; using ${inspection.expertCount}.`);
            return { experts: inspection.expertCount, mode: overridden };
        }
        return { experts: wanted, mode: overridden };
    }

    /** Experts-on-CPU placement (expertPlacement.ts): only meaningful when layers are offloaded to a GPU. */
    private placeExperts(llama: Llama, inspection: ModelInspection, settings: Settings, warnings: string[]) {
        const overrides = inspection.expertCount > 0 ? expertPlacementOverrides(settings.gpu.expertsOnCpu, inspection.layerCount) : [];
        const applied = NativeMoeContext.setTensorOverrides(llama, llama.gpu === false ? [] : overrides);
        if (overrides.length === 0) return;
        if (llama.gpu === false) this.log.info("moePilot.gpu.expertsOnCpu: no GPU is in use, so every weight is in RAM already");
        else if (!applied) warnings.push("moePilot.gpu.expertsOnCpu needs the native MoE runtime (npm run native); the experts are placed as llama.cpp decides.");
        else this.log.info(`experts on CPU: ${overrides.map((o) => o.pattern).join(", ")}`);
    }

    private async loadModel(llama: Llama, inspection: ModelInspection, experts: number): Promise<LlamaModel> {
        // Keyed by file and count: a superseded load's instance must never be taken for another file's.
        const key = `${inspection.path}#${experts}`;
        const cached = this.models.get(key);
        if (cached) return cached;
        const override = inspection.expertCount > 0 && experts !== inspection.expertUsedCount
            ? { [inspection.architecture]: { expert_used_count: experts } }
            : undefined;
        try {
            const model = await llama.loadModel({
                modelPath: inspection.path,
                gpuLayers: 0,
                // node-llama-cpp types overrides per known architecture; ours come from the file.
                ...(override ? { metadataOverrides: override as Parameters<Llama["loadModel"]>[0]["metadataOverrides"] } : {})
            });
            this.models.set(key, model);
            return model;
        } catch (e: unknown) {
            throw new ModelFileError("load-failed", inspection.path, `llama.cpp could not load ${inspection.name}: ${errorMessage(e)}`, { cause: e });
        }
    }

    private getLlama(): Promise<Llama> {
        this.llama ??= getLlama({
            ...llamaBinaries(),
            progressLogs: false,
            logLevel: LlamaLogLevel.warn,
            logger: (level, message) => {
                const text = message.trimEnd();
                if (text) this.log.debug(`llama.cpp [${level}] ${text}`);
            }
        });
        return this.llama;
    }
}

/** A load that a newer load replaced: not an error to show. */
export class SupersededLoadError extends Error {
    override readonly name = "SupersededLoadError";
    constructor() { super("a newer model load replaced this one"); }
}
