/**
 * llama.cpp through node-llama-cpp: one `Llama` per server process (the binaries load once), and
 * model files loaded on it with the errors a user can act on.
 */
import { getLlama, type GgufFileInfo, GgufInsights, type Llama, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";
import type { Logger } from "../log";
import type { ModelInspection } from "../models/inspectModel";
import { errorMessage, ModelFileError } from "../errors";
import { llamaBinaries } from "./nativeMoe";

export class LlamaRuntime {
    /** The process's runtime, once the engine has made it (`ggufInsights` uses its llama.cpp). */
    static current: LlamaRuntime | undefined;
    private llama?: Promise<Llama>;

    constructor(private readonly log: Logger) {
        LlamaRuntime.current = this;
    }

    /** The binaries, loaded on first use: never a download or a build at run time (nativeMoe.ts#llamaBinaries). */
    get(): Promise<Llama> {
        this.llama ??= getLlama({
            ...llamaBinaries(),
            progressLogs: false,
            logLevel: LlamaLogLevel.warn,
            logger: (level, message) => {
                const text = message.trimEnd();
                if (text) this.log.debug(`llama.cpp [${level}] ${text}`);
            }
        }).catch((e: unknown) => {
            this.llama = undefined; // the next use tries again rather than failing for good
            throw e;
        });
        return this.llama;
    }

    async dispose() {
        if (LlamaRuntime.current === this) LlamaRuntime.current = undefined;
        const llama = await this.llama?.catch(() => undefined);
        this.llama = undefined;
        await llama?.dispose();
    }
}

/**
 * node-llama-cpp's insights into a GGUF (memory needs, support), computed with the engine's
 * llama.cpp. Without one, node-llama-cpp makes a llama.cpp instance of its own; made before the
 * engine's, it kept llama.cpp's messages from reaching the engine's logger, and node-llama-cpp's
 * addon wrote them to standard output instead — in the middle of the LSP messages over stdio
 * (seen with the Qwen3-Coder, gpt-oss and DeepSeek-Coder-V2 replicas, whose vocabularies warn on
 * load: the client lost the framing and never saw the load end).
 */
export async function ggufInsights(fileInfo: GgufFileInfo): Promise<GgufInsights> {
    return GgufInsights.from(fileInfo, LlamaRuntime.current ? await LlamaRuntime.current.get() : undefined);
}

/**
 * Loads `inspection`'s file, with `k` experts per token written over the file's trained count
 * when they differ (stock binaries: each count is its own model instance; the instances share the
 * mmapped weights).
 */
export async function loadModelFile(llama: Llama, inspection: ModelInspection, k: number): Promise<LlamaModel> {
    const override =
        inspection.expertCount > 0 && k !== inspection.trainedK
            ? { [inspection.architecture]: { expert_used_count: k } }
            : undefined;
    try {
        return await llama.loadModel({
            modelPath: inspection.path,
            gpuLayers: 0,
            // node-llama-cpp types overrides per known architecture; ours come from the file.
            ...(override
                ? { metadataOverrides: override as Parameters<Llama["loadModel"]>[0]["metadataOverrides"] }
                : {})
        });
    } catch (e: unknown) {
        throw new ModelFileError(
            "load-failed",
            inspection.path,
            `llama.cpp could not load ${inspection.name}: ${errorMessage(e)}`,
            {
                cause: e
            }
        );
    }
}
