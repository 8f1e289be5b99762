/**
 * Writes the trained demo model as a quantized GGUF with the project's writer: matrices Q8_0,
 * norms and routers F32 (routing decisions are sensitive to small errors), the project's
 * tokenizer, and a SHA-256 beside it that the server checks at load.
 *
 *   npx tsx pipeline/exportModel.ts TRAIN_DIR OUT.gguf [q8_0|q4_0|f32]
 * TRAIN_DIR holds manifest.json, tokenizer.json and weights/ from pipeline/train/train.py.
 */
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type GgufTensor, type GgufValue, str, u32, writeGguf } from "./gguf/GgufWriter";
import { qwen3Hyperparameters } from "./gguf/qwen3Metadata";
import { GgmlType } from "./gguf/quantize";
import { projectTokenizer } from "./makeTestModel";

type Manifest = {
    config: {
        vocab: number;
        d: number;
        layers: number;
        heads: number;
        kv_heads: number;
        head_dim: number;
        experts: number;
        experts_used: number;
        expert_ff: number;
        context: number;
        rope_base: number;
        eps: number;
    };
    tensors: { name: string; shape: number[]; file: string; kind: "matrix" | "norm" | "router" }[];
    training?: { sequence: number };
    finetune?: { settings: { sequence: number } };
    tokens?: number;
    steps?: number;
};

/**
 * The context the model can use, written as `context_length` (llama.cpp's n_ctx_train, which the
 * server caps its context at): twice the longest sequence it was trained on, not the
 * architecture's nominal 4096. Measured (evaluate.ts, "loss by position"): after stage one
 * (256-token sequences) held-out loss was level to 511 and climbed 19% after it; after stage two
 * (512) it stays within 5% to 1023 (3.15, 3.00, 3.25, 3.31 nats/token per 256 positions).
 */
export const usableContext = (m: Manifest) =>
    m.training ? 2 * Math.max(m.training.sequence, m.finetune?.settings.sequence ?? 0) : m.config.context;

export function exportModel(trainDir: string, outFile: string, options: { name?: string; matrixType?: GgmlType } = {}) {
    const name = options.name ?? "MoE Pilot demo (tiny MoE code model)";
    const matrixType = options.matrixType ?? GgmlType.Q8_0;
    const manifest = JSON.parse(readFileSync(path.join(trainDir, "manifest.json"), "utf8")) as Manifest;
    const c = manifest.config;
    const arch = "qwen3moe";
    const tensors: GgufTensor[] = manifest.tensors.map((t) => {
        const raw = readFileSync(path.join(trainDir, "weights", t.file));
        const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
        return { name: t.name, shape: t.shape, type: t.kind === "matrix" ? matrixType : GgmlType.F32, data };
    });
    const metadata: Record<string, GgufValue> = {
        "general.architecture": str(arch),
        "general.name": str(name),
        "general.description": str(
            "A demo model trained by MoE Pilot's own pipeline on permissively licensed TypeScript, JavaScript and Python. For trying the extension, not for real work."
        ),
        "general.license": str("MIT"),
        "general.file_type": u32(matrixType === GgmlType.Q8_0 ? 7 : matrixType === GgmlType.Q4_0 ? 2 : 0),
        "moe_pilot.fim.order": str("spm"),
        ...qwen3Hyperparameters(arch, {
            contextLength: usableContext(manifest),
            embedding: c.d,
            layers: c.layers,
            feedForward: c.expert_ff * c.experts_used,
            heads: c.heads,
            kvHeads: c.kv_heads,
            headDim: c.head_dim,
            eps: c.eps,
            ropeBase: c.rope_base,
            moe: { experts: c.experts, expertsUsed: c.experts_used, expertFeedForward: c.expert_ff }
        }),
        ...projectTokenizer(path.join(trainDir, "tokenizer.json"))
    };
    const partial = outFile + ".partial";
    writeGguf(partial, metadata, tensors);
    renameSync(partial, outFile);
    const sha256 = createHash("sha256").update(readFileSync(outFile)).digest("hex");
    writeFileSync(outFile + ".sha256", `${sha256}  ${path.basename(outFile)}\n`);
    return sha256;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const [trainDir, outFile, type = "q8_0"] = process.argv.slice(2);
    if (!trainDir || !outFile) throw new Error("usage: exportModel.ts TRAIN_DIR OUT.gguf [q8_0|q4_0|f32]");
    const matrixType = ({ q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0, f32: GgmlType.F32 } as Record<string, GgmlType>)[
        type
    ];
    if (matrixType === undefined) throw new Error(`unknown type ${type}`);
    console.log(`${outFile}: sha256 ${exportModel(trainDir, outFile, { matrixType })}`);
}
