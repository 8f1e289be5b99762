/**
 * The engine: node-llama-cpp's llama.cpp, one loaded model, the completion context, and the
 * compute lane every evaluation goes through.
 *
 * Per-workload expert counts: without the native runtime (native/), a workload that wants a
 * different number of experts than the model was trained with gets a second model instance
 * loaded with `metadataOverrides` (`<arch>.expert_used_count = k`). Both instances memory-map the
 * same file, so the weights are shared pages; the second costs a context, not a copy.
 */
import {
    type ChatWrapper, GeneralChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, LlamaLogLevel, getLlama, resolveChatWrapper
} from "node-llama-cpp";
import type { ExpertMode, ModelSummary, Settings } from "../protocol";
import { inspectModel, type ModelInspection } from "../models/inspectModel";
import { embeddedModelPath, isEmbeddedModel, verifyEmbeddedModel } from "../models/embeddedModel";
import { ComputeLane } from "./ComputeLane";
import { createTokenDecoder, type TokenDecoder, vocabularyTexts } from "./tokenText";
import type { FimTokens, Tokenizer } from "../completion/fimFormats";
import { modelFim } from "../completion/modelFim";
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
    experts: number
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
    templateFromModel: boolean
};

export type EngineLoadResult = {
    summary: ModelSummary,
    completionExperts: number,
    expertMode: ExpertMode,
    /** Setting problems found while loading (e.g. an expert count the model does not have). */
    warnings: string[]
};

export type LoadProgress = (message: string, percentage: number) => void;

export class Engine {
    readonly lane = new ComputeLane();
    private llama?: Promise<Llama>;
    private models = new Map<string, LlamaModel>();
    private context?: LlamaContext;
    private backend?: CompletionBackend;
    private chats = new Map<number, Promise<ChatBackend & { context: LlamaContext }>>();
    private loaded?: { inspection: ModelInspection, settings: Settings, threads: number };
    private loadGeneration = 0;

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
        const inspection = await inspectModel(modelPath);
        if (embedded) await verifyEmbeddedModel(modelPath);

        progress("Starting llama.cpp", 15);
        const llama = await this.getLlama();
        const threads = settings.threads || Math.max(1, llama.cpuMathCores - 1);

        const warnings: string[] = [];
        const { experts, mode } = this.completionExperts(inspection, settings, warnings);

        progress(`Loading ${inspection.name}`, 30);
        const model = await this.loadModel(llama, inspection, experts);
        if (superseded()) throw new SupersededLoadError();

        progress("Creating completion context", 80);
        const contextSize = Math.min(settings.contextSize, inspection.trainContextSize ?? settings.contextSize);
        const context = await model.createContext({ contextSize, threads, sequences: 1 });
        if (superseded()) { await context.dispose(); throw new SupersededLoadError(); }
        this.context = context;
        this.loaded = { inspection, settings, threads };
        const { fim, tokenizer } = modelFim(model);
        const decode = createTokenDecoder(model, inspection.fileInfo);
        this.backend = { model, sequence: context.getSequence(), decode, fim, tokenizer, vocabulary: vocabularyTexts(inspection.fileInfo, decode), contextSize: context.contextSize, experts };
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
                isEmbedded: embedded
            },
            completionExperts: experts,
            expertMode: mode,
            warnings
        };
    }

    /**
     * The chat context for `experts` per token (`auto`: the trained count), created on first use
     * and kept, so the next turn of a conversation reuses its KV cache.
     */
    async chat(experts: "auto" | number): Promise<ChatBackend> {
        const loaded = this.loaded;
        if (!loaded) throw new EngineNotReadyError();
        const { inspection, settings, threads } = loaded;
        const k = inspection.expertCount === 0 ? 0
            : experts === "auto" ? inspection.expertUsedCount
            : Math.max(1, Math.min(inspection.expertCount, experts));
        let chat = this.chats.get(k);
        if (!chat) {
            // Kept as a promise, so two chats starting at once share one context.
            chat = this.createChat(inspection, settings, threads, k);
            this.chats.set(k, chat);
            chat.catch(() => this.chats.delete(k));
        }
        return chat;
    }

    private async createChat(inspection: ModelInspection, settings: Settings, threads: number, k: number) {
        const model = await this.loadModel(await this.getLlama(), inspection, k || inspection.expertUsedCount);
        const contextSize = Math.min(settings.contextSize, inspection.trainContextSize ?? settings.contextSize);
        const context = await model.createContext({ contextSize, threads, sequences: 1 });
        const templateFromModel = typeof model.fileInfo.metadata.tokenizer?.chat_template === "string";
        return {
            model, context, sequence: context.getSequence(), decode: createTokenDecoder(model, inspection.fileInfo),
            contextSize: context.contextSize, experts: k,
            chatWrapper: templateFromModel ? resolveChatWrapper(model) : new GeneralChatWrapper(),
            templateFromModel
        };
    }

    async unload() {
        const context = this.context;
        this.backend = undefined;
        this.context = undefined;
        this.loaded = undefined;
        const chats = [...this.chats.values()];
        this.chats.clear();
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

    private completionExperts(inspection: ModelInspection, settings: Settings, warnings: string[]): { experts: number, mode: ExpertMode } {
        if (inspection.expertCount === 0) return { experts: 0, mode: "not-moe" };
        const wanted = settings.completion.experts;
        // `auto` is the trained count until the native runtime measures a faster default.
        if (wanted === "auto" || wanted === inspection.expertUsedCount) return { experts: inspection.expertUsedCount, mode: "trained" };
        if (wanted > inspection.expertCount) {
            warnings.push(`moePilot.completion.experts is ${wanted}, but ${inspection.name} has ${inspection.expertCount} experts per layer; using ${inspection.expertCount}.`);
            return { experts: inspection.expertCount, mode: "override" };
        }
        return { experts: wanted, mode: "override" };
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
            gpu: false,
            // Never download or compile at run time: the prebuilt binaries, or the project's native build.
            build: "never",
            usePrebuiltBinaries: true,
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
