/**
 * A model's card from its GGUF alone (no load): what it is, how its experts are laid out, how
 * completion would prompt it (FIM tokens or a family template, else chat only), whether it has a
 * chat template, and whether this machine has the memory for it.
 */
import { GgufFileType } from "node-llama-cpp";
import { ggufInsights } from "../engine/llama";
import { describeSampling, samplingFor } from "../chat/sampling";
import { type FimTokens, type Token, resolveFimTokens } from "../completion/fimFormats";
import type { ChatSamplingSettings, ModelCard } from "../protocol";
import type { ModelInspection } from "./inspectModel";
import { type MachineMemory, machineMemory, modelFit, registryModelForFile } from "./registry";

/** llama.cpp's token types of special tokens (GgufMetadataTokenizerTokenType, a const enum). */
const CONTROL = 3, USER_DEFINED = 4;

/**
 * FIM markers from the vocabulary in the file: the GGUF's FIM keys, else a family's tokens found by
 * their text (llama.cpp finds the same tokens on a loaded model, which modelFim.ts then reports as
 * the GGUF's own).
 */
function fimFromFile(inspection: ModelInspection): FimTokens {
    const tokenizer = inspection.fileInfo.metadata.tokenizer?.ggml;
    const tokens: readonly string[] = tokenizer?.tokens ?? [];
    const types: readonly number[] = tokenizer?.token_type ?? [];
    const special = new Map<string, Token>();
    tokens.forEach((text, id) => {
        const type = types[id];
        if (type === CONTROL || type === USER_DEFINED) special.set(text, id as Token);
    });
    const fromId = (id: number | undefined) => (id === undefined || id < 0 || id >= tokens.length ? undefined : id as Token);
    return resolveFimTokens({ text: () => [], special: (text) => special.get(text) }, {
        prefix: fromId(tokenizer?.fim_pre_token_id), suffix: fromId(tokenizer?.fim_suf_token_id), middle: fromId(tokenizer?.fim_mid_token_id)
    }, undefined);
}

/** The memory the model needs on the CPU with a context of `contextSize` tokens (node-llama-cpp's estimates). */
async function memoryNeed(inspection: ModelInspection, contextSize: number): Promise<number> {
    const insights = await ggufInsights(inspection.fileInfo);
    const context = Math.min(contextSize, inspection.trainContextSize ?? contextSize);
    const modelRam = (await insights.estimateModelResourceRequirementsV2({ gpuLayers: 0 })).cpuRam;
    const contextRam = (await insights.estimateContextResourceRequirementsV2({ contextSize: context, modelGpuLayers: 0 })).cpuRam;
    return Math.max(modelRam, inspection.sizeBytes) + contextRam;
}

export async function modelCard(
    inspection: ModelInspection,
    contextSize: number,
    sampling: ChatSamplingSettings,
    machine: MachineMemory = machineMemory()
): Promise<ModelCard> {
    const { fileInfo } = inspection;
    const fileType = fileInfo.metadata.general?.file_type;
    const arch = (fileInfo.architectureMetadata ?? {}) as { expert_shared_count?: number };
    const fim = fimFromFile(inspection);
    const needBytes = await memoryNeed(inspection, contextSize);
    const registry = registryModelForFile(inspection.path);
    const activeShare = inspection.expertCount > 0 ? inspection.trainedK / inspection.expertCount : 1;
    return {
        path: inspection.path,
        name: inspection.name,
        architecture: inspection.architecture,
        sizeBytes: inspection.sizeBytes,
        parts: inspection.parts.length,
        quantization: fileType !== undefined ? GgufFileType[fileType]?.replace(/^MOSTLY_/, "") : undefined,
        layerCount: inspection.layerCount,
        trainContextSize: inspection.trainContextSize,
        isMoe: inspection.expertCount > 0,
        expertCount: inspection.expertCount,
        trainedK: inspection.trainedK,
        sharedExpertCount: arch.expert_shared_count || undefined,
        fim: { source: fim.source, family: fim.family },
        chatTemplate: typeof fileInfo.metadata.tokenizer?.chat_template === "string",
        memory: {
            needBytes,
            // Without a parameter count in the file, the active share of the experts stands in for it.
            fit: modelFit({ fileBytes: inspection.sizeBytes, ramBytes: needBytes, parameters: { totalB: 1, activeB: activeShare } }, machine)
        },
        registry: registry ? { id: registry.id, recommendedK: registry.experts.recommendedK } : undefined,
        chatSampling: describeSampling(samplingFor(inspection, sampling))
    };
}
