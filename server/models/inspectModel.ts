/**
 * Looks at a model file before it is loaded, so that a wrong file gets a precise message instead
 * of a crash or a hang inside llama.cpp: does it exist, is it a GGUF, is it complete, does the
 * bundled llama.cpp know its architecture, is it a Mixture of Experts.
 */
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { type GgufFileInfo, GgufInsights, readGgufFileInfo } from "node-llama-cpp";
import { ModelFileError, errorMessage } from "../engine/errors";

export type ModelInspection = {
    path: string,
    name: string,
    architecture: string,
    sizeBytes: number,
    /** Experts per MoE layer; 0 for a dense model. */
    expertCount: number,
    /** Experts each token uses as trained; 0 for a dense model. */
    expertUsedCount: number,
    /** Transformer blocks (`<arch>.block_count`). */
    layerCount: number,
    trainContextSize: number | undefined,
    fileInfo: GgufFileInfo
};

const GGUF_MAGIC = "GGUF";

export async function inspectModel(modelPath: string): Promise<ModelInspection> {
    const stats = await stat(modelPath).catch((e: unknown) => {
        throw new ModelFileError("not-found", modelPath, `Model file not found: ${modelPath}`, { cause: e });
    });
    if (!stats.isFile()) throw new ModelFileError("not-a-file", modelPath, `The model path is not a file: ${modelPath}`);

    const magic = Buffer.alloc(4);
    const handle = await open(modelPath, "r");
    try {
        await handle.read(magic, 0, 4, 0);
    } finally {
        await handle.close();
    }
    if (magic.toString("latin1") !== GGUF_MAGIC)
        throw new ModelFileError("not-gguf", modelPath, `${path.basename(modelPath)} is not a GGUF model file (it does not start with "GGUF"). MoE Pilot runs GGUF models, as llama.cpp does.`);

    let fileInfo: GgufFileInfo;
    try {
        fileInfo = await readGgufFileInfo(modelPath, { readTensorInfo: true, logWarnings: false });
    } catch (e: unknown) {
        throw new ModelFileError("truncated", modelPath, `${path.basename(modelPath)} is damaged or incomplete: its GGUF header cannot be read (${errorMessage(e)}). Download or copy it again.`, { cause: e });
    }

    // The reader does not fail at the end of a short file (it reads on as if there were zeros).
    if (Number(fileInfo.infoEndOffset) > stats.size)
        throw new ModelFileError("truncated", modelPath, `${path.basename(modelPath)} is damaged or incomplete: the file ends inside its GGUF header. Download or copy it again.`);

    const insights = await GgufInsights.from(fileInfo);
    const firstTensor = fileInfo.fullTensorInfo?.reduce((min, t) => Math.min(min, Number(t.fileOffset)), Infinity) ?? 0;
    const expectedBytes = (Number.isFinite(firstTensor) ? firstTensor : 0) + insights.modelSize;
    if (stats.size < expectedBytes)
        throw new ModelFileError("truncated", modelPath, `${path.basename(modelPath)} is incomplete: its tensors need ${expectedBytes} bytes but the file has ${stats.size}. Download or copy it again.`);

    const architecture = String(fileInfo.metadata.general?.architecture ?? "unknown");
    if (!insights.isSupportedByLlamaCpp)
        throw new ModelFileError("unsupported-architecture", modelPath, `${path.basename(modelPath)} uses the "${architecture}" architecture, which the bundled llama.cpp does not support.`);

    const archMetadata = (fileInfo.architectureMetadata ?? {}) as { expert_count?: number, expert_used_count?: number, block_count?: number };
    const expertCount = Number(archMetadata.expert_count ?? 0);
    return {
        path: modelPath,
        name: String(fileInfo.metadata.general?.name ?? path.basename(modelPath, ".gguf")),
        architecture,
        sizeBytes: stats.size,
        expertCount: expertCount > 1 ? expertCount : 0,
        expertUsedCount: expertCount > 1 ? Number(archMetadata.expert_used_count ?? 0) : 0,
        layerCount: Number(archMetadata.block_count ?? 0),
        trainContextSize: insights.trainContextSize,
        fileInfo
    };
}
