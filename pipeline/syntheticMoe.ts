/**
 * Synthetic MoE models for benchmarks: random weights in the shape of a real MoE, written one
 * tensor at a time by the project's GGUF writer, large enough that decoding is bound by memory
 * bandwidth (or, for the expert cache, larger than a memory budget). Their text is meaningless;
 * their speed is not. Never committed: made on demand into `.cache/synthetic/`, keyed by shape.
 *
 * Routing skew: real routers favour some experts. Every token embedding here shares one
 * direction `c`, and each expert's router row leans on `c` by a per-expert popularity drawn from
 * a normal distribution, so some experts are chosen far more often than others, layer after
 * layer (the residual stream carries `c`), with the token-dependent part still deciding the rest.
 *
 *   npx tsx pipeline/syntheticMoe.ts [shape]   (prints the path; shapes: see SYNTHETIC_SHAPES)
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import { type GgufTensor, type GgufValue, str, u32, writeGguf } from "./gguf/GgufWriter";
import { qwen3Hyperparameters } from "./gguf/qwen3Metadata";
import { GgmlType } from "./gguf/quantize";
import { normalFiller } from "./gguf/randomWeights";
import { starcoderTokenizer } from "./makeTestModel";

export type SyntheticShape = {
    /** What it stands for, said wherever its figures are shown. */
    description: string;
    embedding: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    experts: number;
    expertsUsed: number;
    expertFeedForward: number;
    contextLength: number;
    /** How strongly the router favours popular experts (0: no skew). */
    routingSkew: number;
    seed: number;
};

export const SYNTHETIC_SHAPES = {
    /**
     * About 1.4 GB at Q8_0: 12 layers of 64 experts (8 used), d=1024, StarCoder's 49k vocabulary.
     * A token at k=8 reads ~250 MB of weights, far beyond any CPU cache: decode speed is set by
     * memory bandwidth, as with real MoE models on a laptop.
     */
    memoryBound: {
        description:
            "A synthetic MoE: 12 layers x 64 experts (8 used), d=1024, 1.34 B parameters, Q8_0, random weights",
        embedding: 1024,
        layers: 12,
        heads: 16,
        kvHeads: 4,
        headDim: 64,
        experts: 64,
        expertsUsed: 8,
        expertFeedForward: 512,
        contextLength: 4096,
        routingSkew: 0.5,
        seed: 2024
    }
} as const satisfies Record<string, SyntheticShape>;

/** Bump when the way weights are made changes: cached files are keyed by shape and this. */
const GENERATOR_VERSION = 2;

export async function syntheticMoe(
    shapeName: keyof typeof SYNTHETIC_SHAPES,
    outDir = path.join(import.meta.dirname, "..", ".cache", "synthetic")
): Promise<string> {
    const s: SyntheticShape = SYNTHETIC_SHAPES[shapeName];
    const { description: _, ...weights } = s; // the description does not change the file's weights
    const key = createHash("sha256")
        .update(JSON.stringify({ ...weights, generator: GENERATOR_VERSION }))
        .digest("hex")
        .slice(0, 12);
    const file = path.join(outDir, `synthetic-${shapeName}-${key}.gguf`);
    if (existsSync(file)) return file;
    mkdirSync(outDir, { recursive: true });

    const tokenizer = await starcoderTokenizer();
    const vocab = (tokenizer["tokenizer.ggml.tokens"]!.value as readonly string[]).length;
    const fill = normalFiller(s.seed);
    const d = s.embedding,
        ff = s.expertFeedForward,
        e = s.experts;
    const qDim = s.heads * s.headDim,
        kvDim = s.kvHeads * s.headDim;
    const w = (std: number) => std / Math.sqrt(d);
    const ones = (n: number) => () => new Float32Array(n).fill(1);

    // the shared direction of every embedding, and each expert's popularity along it
    const common = fill(d, 1);
    const commonNorm = Math.hypot(...common);
    const popularity = fill(e * s.layers, 1);

    const tensors: GgufTensor[] = [
        {
            name: "token_embd.weight",
            shape: [d, vocab],
            type: GgmlType.Q8_0,
            data: () => {
                const x = fill(d * vocab, 1);
                for (let t = 0; t < vocab; t++) for (let i = 0; i < d; i++) x[t * d + i]! += common[i]!;
                return x;
            }
        },
        { name: "output_norm.weight", shape: [d], type: GgmlType.F32, data: ones(d) },
        { name: "output.weight", shape: [d, vocab], type: GgmlType.Q8_0, data: () => fill(d * vocab, w(1)) }
    ];
    for (let l = 0; l < s.layers; l++) {
        const p = `blk.${l}.`;
        tensors.push(
            { name: p + "attn_norm.weight", shape: [d], type: GgmlType.F32, data: ones(d) },
            { name: p + "attn_q.weight", shape: [d, qDim], type: GgmlType.Q8_0, data: () => fill(d * qDim, w(1)) },
            { name: p + "attn_k.weight", shape: [d, kvDim], type: GgmlType.Q8_0, data: () => fill(d * kvDim, w(1)) },
            { name: p + "attn_v.weight", shape: [d, kvDim], type: GgmlType.Q8_0, data: () => fill(d * kvDim, w(1)) },
            {
                name: p + "attn_output.weight",
                shape: [qDim, d],
                type: GgmlType.Q8_0,
                data: () => fill(qDim * d, 0.5 / Math.sqrt(qDim))
            },
            { name: p + "attn_q_norm.weight", shape: [s.headDim], type: GgmlType.F32, data: ones(s.headDim) },
            { name: p + "attn_k_norm.weight", shape: [s.headDim], type: GgmlType.F32, data: ones(s.headDim) },
            { name: p + "ffn_norm.weight", shape: [d], type: GgmlType.F32, data: ones(d) },
            {
                name: p + "ffn_gate_inp.weight",
                shape: [d, e],
                type: GgmlType.F32,
                data: () => {
                    // a router row's token-dependent logit has std ~4 (w(4) x |h| ~ sqrt(d)); the
                    // normalised hidden state's projection on c is ~|c|/sqrt(2): the lean adds
                    // routingSkew x popularity x 4 to the logit
                    const r = fill(d * e, w(4));
                    for (let x = 0; x < e; x++) {
                        const lean =
                            (s.routingSkew * popularity[l * e + x]! * 4 * Math.SQRT2) / (commonNorm * commonNorm);
                        for (let i = 0; i < d; i++) r[x * d + i]! += lean * common[i]!;
                    }
                    return r;
                }
            },
            {
                name: p + "ffn_gate_exps.weight",
                shape: [d, ff, e],
                type: GgmlType.Q8_0,
                data: () => fill(d * ff * e, w(1))
            },
            {
                name: p + "ffn_up_exps.weight",
                shape: [d, ff, e],
                type: GgmlType.Q8_0,
                data: () => fill(d * ff * e, w(1))
            },
            {
                name: p + "ffn_down_exps.weight",
                shape: [ff, d, e],
                type: GgmlType.Q8_0,
                data: () => fill(ff * d * e, 0.5 / Math.sqrt(ff))
            }
        );
    }
    const arch = "qwen3moe";
    const metadata: Record<string, GgufValue> = {
        "general.architecture": str(arch),
        "general.name": str(`MoE Pilot ${shapeName} (synthetic)`),
        "general.description": str(`${s.description}. For benchmarks only: its output is meaningless by design.`),
        "general.file_type": u32(7),
        ...qwen3Hyperparameters(arch, {
            contextLength: s.contextLength,
            embedding: d,
            layers: s.layers,
            feedForward: ff * s.expertsUsed,
            heads: s.heads,
            kvHeads: s.kvHeads,
            headDim: s.headDim,
            moe: { experts: e, expertsUsed: s.expertsUsed, expertFeedForward: ff }
        }),
        ...tokenizer
    };
    const partial = `${file}.partial`;
    writeGguf(partial, metadata, tensors);
    renameSync(partial, file);
    return file;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const shape = (process.argv[2] ?? "memoryBound") as keyof typeof SYNTHETIC_SHAPES;
    const started = Date.now();
    console.log(await syntheticMoe(shape));
    console.error(`(${Math.round((Date.now() - started) / 1000)} s)`);
}
