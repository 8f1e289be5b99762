/**
 * Looks at a model file before it is loaded, so that a wrong file gets a precise message instead
 * of a crash or a hang inside llama.cpp: does it exist, is it a GGUF, is it complete, does the
 * bundled llama.cpp know its architecture, is it a Mixture of Experts. A split GGUF
 * (`name-00001-of-00003.gguf`) is inspected as one model: every part must be there and whole.
 */
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { type GgufFileInfo, readGgufFileInfo } from "node-llama-cpp";
import { ggufInsights } from "../engine/llama";
import { ModelFileError, errorMessage } from "../errors";

export type ModelInspection = {
    /** The file to load: the first part of a split model. */
    path: string,
    /** Every file of the model (one, or the parts of a split GGUF in order). */
    parts: string[],
    name: string,
    architecture: string,
    /** All parts together. */
    sizeBytes: number,
    /** Experts per MoE layer; 0 for a dense model. */
    expertCount: number,
    /** Experts each token uses as trained; 0 for a dense model. */
    trainedK: number,
    /** Transformer blocks (`<arch>.block_count`). */
    layerCount: number,
    trainContextSize: number | undefined,
    fileInfo: GgufFileInfo
};

const GGUF_MAGIC = "GGUF";
const SPLIT_PART = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** The files of a split GGUF named like llama.cpp's gguf-split names them, or just `modelPath`. */
function modelParts(modelPath: string): string[] {
    const match = SPLIT_PART.exec(modelPath);
    if (!match) return [modelPath];
    const count = Number(match[2]);
    const base = modelPath.slice(0, match.index);
    return Array.from({ length: count }, (_, i) => `${base}-${String(i + 1).padStart(5, "0")}-of-${match[2]}.gguf`);
}

export async function inspectModel(modelPath: string): Promise<ModelInspection> {
    const stats = await stat(modelPath).catch((e: unknown) => {
        throw new ModelFileError("not-found", modelPath, `Model file not found: ${modelPath}`, { cause: e });
    });
    if (!stats.isFile()) throw new ModelFileError("not-a-file", modelPath, `The model path is not a file: ${modelPath}`);
    const parts = modelParts(modelPath);
    if (parts[0] !== modelPath)
        throw new ModelFileError("not-a-file", modelPath, `${path.basename(modelPath)} is a later part of a split model: choose its first part, ${path.basename(parts[0]!)}.`);
    const partSizes: number[] = [];
    for (const part of parts) {
        const partStats = await stat(part).catch(() => undefined);
        if (!partStats?.isFile())
            throw new ModelFileError("not-found", modelPath, `${path.basename(modelPath)} is split into ${parts.length} files, and ${path.basename(part)} is missing. Download the missing part into the same folder.`);
        partSizes.push(partStats.size);
    }
    const totalSize = partSizes.reduce((a, b) => a + b, 0);

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
    if (Number(fileInfo.infoEndOffset) > partSizes[0]!)
        throw new ModelFileError("truncated", modelPath, `${path.basename(modelPath)} is damaged or incomplete: the file ends inside its GGUF header. Download or copy it again.`);

    const insights = await ggufInsights(fileInfo);
    // Each part's tensor data starts after its header: the headers plus the tensors must fit in the files.
    const dataStart = new Map<number, number>();
    for (const t of fileInfo.fullTensorInfo ?? []) {
        const part = t.filePart ?? 1;
        dataStart.set(part, Math.min(dataStart.get(part) ?? Infinity, Number(t.fileOffset)));
    }
    const expectedBytes = [...dataStart.values()].reduce((a, b) => a + b, 0) + insights.modelSize;
    if (totalSize < expectedBytes)
        throw new ModelFileError("truncated", modelPath, `${path.basename(modelPath)} is incomplete: its tensors need ${expectedBytes} bytes but ${parts.length > 1 ? `its ${parts.length} parts have` : "the file has"} ${totalSize}. Download or copy it again.`);

    const architecture = String(fileInfo.metadata.general?.architecture ?? "unknown");
    if (!insights.isSupportedByLlamaCpp)
        throw new ModelFileError("unsupported-architecture", modelPath, `${path.basename(modelPath)} uses the "${architecture}" architecture, which the bundled llama.cpp does not support.`);

    const archMetadata = (fileInfo.architectureMetadata ?? {}) as { expert_count?: number, expert_used_count?: number, block_count?: number };
    const expertCount = Number(archMetadata.expert_count ?? 0);
    return {
        path: modelPath,
        parts,
        name: String(fileInfo.metadata.general?.name ?? path.basename(modelPath, ".gguf")),
        architecture,
        sizeBytes: totalSize,
        expertCount: expertCount > 1 ? expertCount : 0,
        trainedK: expertCount > 1 ? Number(archMetadata.expert_used_count ?? 0) : 0,
        layerCount: Number(archMetadata.block_count ?? 0),
        trainContextSize: insights.trainContextSize,
        fileInfo
    };
}
