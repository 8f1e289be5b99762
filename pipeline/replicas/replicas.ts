/**
 * Architecture replicas: for each architecture the model registry recommends, a tiny random-weight
 * GGUF with that architecture's exact tensor set, hyperparameter keys and quantization types, the
 * real tokenizer (from the vocab GGUFs in the bundled llama.cpp source, with each model's added
 * tokens where it puts them — DeepSeek-Coder-V2's FIM ids are not in any source here, so they sit
 * in free slots —, and gpt-oss's o200k_harmony built from js-tiktoken's ranks, o200kHarmony.ts)
 * and the real chat template (bundled, or templates/ with their sources). The shapes are scaled down (2–3 layers, d=256,
 * experts 256 wide, gpt-oss's 1024, so that the experts are a good part of the file, as in a real
 * one, next to the real vocabulary's embeddings); the expert counts, the experts per token and the
 * shared experts are the real ones.
 *
 * Each file is named exactly as the registry names the published file, so the server treats it as
 * that model (recommended expert counts, chat sampling, roles), as it would after a download.
 * Nothing here can check a published file itself (none can be downloaded here); the replicas check
 * every code path such a file takes. The tensor tables follow llama.cpp's loaders
 * (src/models/<arch>.cpp of the bundled source).
 *
 *   npx tsx pipeline/replicas/replicas.ts [outDir]   (default: models/test/replicas; `npm run models` runs it)
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { bundledTemplate, bundledVocab, editVocab, TokenType, tokenId, tokensFrom } from "../gguf/bundledVocab";
import { o200kHarmonyVocab } from "../gguf/o200kHarmony";
import { bool, f32, type GgufTensor, type GgufValue, str, u32, writeGguf } from "../gguf/GgufWriter";
import { GgmlType } from "../gguf/quantize";
import { normalFiller } from "../gguf/randomWeights";

export type Replica = {
    /** The registry entry (server/models/registry.json) it stands for; none for a routing variant. */
    registryId?: string;
    /** The published file's name, which the replica's file takes. */
    file: string;
    architecture: string;
    /** Experts per MoE layer, experts each token uses as trained, experts every token also goes through. */
    experts: { count: number; used: number; shared: number };
    /** Blocks without experts, first (deepseek2's leading dense layers). */
    denseBlocks: number;
    /** How the routing weights are formed (llama.cpp's build_moe_ffn as each architecture calls it). */
    routing: "softmax-then-top-k" | "top-k-then-softmax" | "sigmoid-with-selection-bias";
    /** Whether the chosen experts' weights are renormalised to sum to 1 (then times `weightScale`). */
    renormalised: boolean;
    weightScale?: number;
    /** The FIM family its vocabulary's tokens name (server/completion/fimFormats.ts), or undefined for none. */
    fim?: string;
    build(): Promise<{ metadata: Record<string, GgufValue>; tensors: GgufTensor[] }>;
};

const D = 256; // Q4_K rows are 256 values: the smallest width every quantization here can hold
const SEED = 4321;

/** The tensors of one model, filled with seeded normal values: matrices scaled by 1/sqrt(fan-in). */
class Tensors {
    readonly list: GgufTensor[] = [];
    private readonly fill: (n: number, std: number) => Float32Array;
    /** `silenced`: tensors written as zeros (a layer's outputs, for a model that repeats a cycle). */
    constructor(
        seed: number,
        private readonly silenced?: RegExp
    ) {
        this.fill = normalFiller(seed);
    }
    /** A weight mapping `inputs` values to `outputs` (ggml shape [inputs, outputs, ...rest]). */
    matrix(name: string, type: GgmlType, inputs: number, outputs: number, ...rest: number[]) {
        const n = inputs * outputs * rest.reduce((a, b) => a * b, 1);
        const std = 1 / Math.sqrt(inputs);
        this.push(name, [inputs, outputs, ...rest], type, () => this.fill(n, std));
    }
    /** A 1-D or 2-D F32 tensor: norms (all ones), biases and sinks (normal values of standard deviation `std`). */
    vector(name: string, shape: number[], std: "ones" | number) {
        const n = shape.reduce((a, b) => a * b, 1);
        this.push(name, shape, GgmlType.F32, () => (std === "ones" ? new Float32Array(n).fill(1) : this.fill(n, std)));
    }
    /**
     * A block's attention as Q4_K_M lays it out (Q4_K; attn_v in Q6_K, for which Q8_0 stands in):
     * its norm and projections, and q/k norms `qkNorm` wide where the architecture has them.
     */
    attention(p: string, qDim: number, kvDim: number, qkNorm?: number) {
        this.vector(p + "attn_norm.weight", [D], "ones");
        this.matrix(p + "attn_q.weight", GgmlType.Q4_K, D, qDim);
        this.matrix(p + "attn_k.weight", GgmlType.Q4_K, D, kvDim);
        this.matrix(p + "attn_v.weight", GgmlType.Q8_0, D, kvDim);
        this.matrix(p + "attn_output.weight", GgmlType.Q4_K, qDim, D);
        if (qkNorm) {
            this.vector(p + "attn_q_norm.weight", [qkNorm], "ones");
            this.vector(p + "attn_k_norm.weight", [qkNorm], "ones");
        }
    }
    /** A block's routed experts, `count` of width `ff`, as Q4_K_M lays them out (ffn_down: Q8_0 for Q6_K). */
    routedExperts(p: string, count: number, ff: number) {
        this.matrix(p + "ffn_gate_exps.weight", GgmlType.Q4_K, D, ff, count);
        this.matrix(p + "ffn_up_exps.weight", GgmlType.Q4_K, D, ff, count);
        this.matrix(p + "ffn_down_exps.weight", GgmlType.Q8_0, ff, D, count);
    }
    push(name: string, shape: number[], type: GgmlType, data: () => Float32Array) {
        const silent = this.silenced?.test(name);
        const n = shape.reduce((a, b) => a * b, 1);
        this.list.push({ name, shape, type, data: silent ? () => new Float32Array(n) : data });
    }
}

function vocabSize(vocab: Record<string, GgufValue>): number {
    return (vocab["tokenizer.ggml.tokens"]!.value as readonly string[]).length;
}

/** The keys every architecture here shares (llama.cpp's common hyperparameters). */
function common(arch: string, s: { context: number; layers: number; ff: number; heads: number; kvHeads: number }) {
    return {
        [`${arch}.context_length`]: u32(s.context),
        [`${arch}.embedding_length`]: u32(D),
        [`${arch}.block_count`]: u32(s.layers),
        [`${arch}.feed_forward_length`]: u32(s.ff),
        [`${arch}.attention.head_count`]: u32(s.heads),
        [`${arch}.attention.head_count_kv`]: u32(s.kvHeads)
    };
}

function general(name: string, fileType: number, replicaOf: string): Record<string, GgufValue> {
    return {
        "general.name": str(`${name} (architecture replica, random weights)`),
        "general.description": str(
            `A tiny random-weight replica of ${replicaOf}'s structure for MoE Pilot's tests. Its output is meaningless by design.`
        ),
        "general.file_type": u32(fileType)
    };
}

/** llama.cpp's file types (llama_ftype) the published files carry. */
const FileType = { MOSTLY_Q4_K_M: 15, MOSTLY_MXFP4_MOE: 38 } as const;

/** Qwen2's BPE (Qwen3 kept it) with Qwen3-Coder's added tokens at their ids. */
export async function qwen3Vocab() {
    const { CONTROL, USER_DEFINED } = TokenType;
    return editVocab(await bundledVocab("ggml-vocab-qwen2.gguf"), {
        tokens: [
            ...tokensFrom(151646, CONTROL, [
                "<|object_ref_start|>",
                "<|object_ref_end|>",
                "<|box_start|>",
                "<|box_end|>",
                "<|quad_start|>",
                "<|quad_end|>",
                "<|vision_start|>",
                "<|vision_end|>",
                "<|vision_pad|>",
                "<|image_pad|>",
                "<|video_pad|>"
            ]),
            ...tokensFrom(151657, USER_DEFINED, ["<tool_call>", "</tool_call>"]),
            ...tokensFrom(151659, CONTROL, [
                "<|fim_prefix|>",
                "<|fim_middle|>",
                "<|fim_suffix|>",
                "<|fim_pad|>",
                "<|repo_name|>",
                "<|file_sep|>"
            ]),
            ...tokensFrom(151665, USER_DEFINED, ["<tool_response>", "</tool_response>", "<think>", "</think>"])
        ]
    });
}

/**
 * DeepSeek-V2's BPE (the bundled DeepSeek-LLM vocab: same 102,400 tokens, pre-tokenizer and
 * sentence tokens) with the FIM tokens Coder-V2 adds, in its free slots: their real ids are not
 * in any source here, and llama.cpp and the server find them by their text.
 */
async function deepseekV2Vocab() {
    return editVocab(await bundledVocab("ggml-vocab-deepseek-llm.gguf"), {
        tokens: tokensFrom(100015, TokenType.CONTROL, ["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"])
    });
}

/** OLMo's tokenizer (allenai/gpt-neox-olmo-dolma-v1_5): GPT-NeoX's BPE with four ids changed, 50,304 long. */
async function olmoeVocab(): Promise<Record<string, GgufValue>> {
    const vocab = editVocab(await bundledVocab("ggml-vocab-gpt-neox.gguf"), {
        length: 50304,
        tokens: [
            ...tokensFrom(0, TokenType.USER_DEFINED, ["|||IP_ADDRESS|||"]),
            ...tokensFrom(50277, TokenType.USER_DEFINED, ["|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||"]),
            ...tokensFrom(50279, TokenType.CONTROL, ["<|endoftext|>"])
        ]
    });
    return {
        ...vocab,
        "tokenizer.ggml.pre": str("olmo"),
        "tokenizer.ggml.bos_token_id": u32(50279),
        "tokenizer.ggml.eos_token_id": u32(50279),
        "tokenizer.ggml.padding_token_id": u32(1),
        "tokenizer.ggml.add_bos_token": bool(false)
    };
}

/** Granite 3.1's tokenizer: the Refact (StarCoder) BPE with id 0 renamed and three role tokens appended. */
async function graniteVocab(): Promise<Record<string, GgufValue>> {
    const vocab = editVocab(await bundledVocab("ggml-vocab-refact.gguf"), {
        length: 49155,
        tokens: [
            ...tokensFrom(0, TokenType.CONTROL, ["<|end_of_text|>"]),
            ...tokensFrom(49152, TokenType.CONTROL, ["<|start_of_role|>", "<|end_of_role|>", "<|tool_call|>"])
        ]
    });
    return {
        ...vocab,
        "tokenizer.ggml.padding_token_id": u32(0),
        "tokenizer.ggml.add_bos_token": bool(false)
    };
}

/** A chat template the bundled source lacks, kept beside this file with its source (templates/README.md). */
function template(file: string): string {
    return readFileSync(path.join(import.meta.dirname, "templates", file), "utf8");
}

const qwen3Coder: Replica = {
    registryId: "qwen3-coder-30b-a3b",
    file: "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf",
    architecture: "qwen3moe",
    experts: { count: 128, used: 8, shared: 0 },
    denseBlocks: 0,
    routing: "softmax-then-top-k",
    renormalised: true,
    fim: "qwen-coder",
    async build() {
        const arch = "qwen3moe",
            layers = 2,
            heads = 8,
            kvHeads = 1,
            headDim = 64,
            ff = 256,
            { count, used } = this.experts;
        const vocab = await qwen3Vocab();
        const nVocab = vocabSize(vocab);
        const t = new Tensors(SEED);
        t.matrix("token_embd.weight", GgmlType.Q4_K, D, nVocab);
        t.vector("output_norm.weight", [D], "ones");
        // Q4_K_M keeps the output and attn_v (and half of ffn_down) in Q6_K: Q8_0 stands in (same rows, no Q6_K writer).
        t.matrix("output.weight", GgmlType.Q8_0, D, nVocab);
        for (let l = 0; l < layers; l++) {
            const p = `blk.${l}.`;
            t.attention(p, heads * headDim, kvHeads * headDim, headDim); // per-head q/k norms
            t.vector(p + "ffn_norm.weight", [D], "ones");
            t.matrix(p + "ffn_gate_inp.weight", GgmlType.F32, D, count);
            t.routedExperts(p, count, ff);
        }
        const metadata = {
            "general.architecture": str(arch),
            ...general("Qwen3-Coder-30B-A3B-Instruct", FileType.MOSTLY_Q4_K_M, "Qwen3-Coder-30B-A3B-Instruct"),
            ...common(arch, { context: 262144, layers, ff: ff * used, heads, kvHeads }),
            [`${arch}.attention.key_length`]: u32(headDim),
            [`${arch}.attention.value_length`]: u32(headDim),
            [`${arch}.attention.layer_norm_rms_epsilon`]: f32(1e-6),
            [`${arch}.rope.freq_base`]: f32(10_000_000),
            [`${arch}.expert_count`]: u32(count),
            [`${arch}.expert_used_count`]: u32(used),
            [`${arch}.expert_feed_forward_length`]: u32(ff),
            ...vocab,
            "tokenizer.ggml.eos_token_id": u32(tokenId(vocab, "<|im_end|>")),
            "tokenizer.ggml.padding_token_id": u32(tokenId(vocab, "<|endoftext|>")),
            "tokenizer.ggml.bos_token_id": u32(tokenId(vocab, "<|endoftext|>")),
            "tokenizer.ggml.add_bos_token": bool(false),
            "tokenizer.chat_template": str(bundledTemplate("Qwen3-Coder.jinja"))
        };
        return { metadata, tensors: t.list };
    }
};

const gptOss: Replica = {
    registryId: "gpt-oss-20b",
    file: "gpt-oss-20b-MXFP4.gguf",
    architecture: "gpt-oss",
    experts: { count: 32, used: 4, shared: 0 },
    denseBlocks: 0,
    routing: "top-k-then-softmax",
    renormalised: true,
    build: () => buildGptOss()
};

/**
 * gpt-oss as built above, or, with `cycle`, built to write that cycle of tokens: its layers add
 * nothing (their output projections and down projections are zero), so the last hidden state is
 * the token's own embedding, normalised, and the output row of each cycle token's successor is
 * that embedding (a logit of about 256 against about ±16 for any other).
 */
async function buildGptOss(cycle?: readonly string[]) {
    const arch = "gpt-oss",
        layers = 2, // layer 0 attends through a sliding window, layer 1 to everything
        heads = 8,
        kvHeads = 1,
        headDim = 64,
        // experts are most of a MoE file, as in the real one (gpt-oss-20b: 2880); a cycle needs none
        ff = cycle ? 64 : 1024,
        { count, used } = gptOss.experts;
    const vocab = o200kHarmonyVocab();
    const nVocab = vocabSize(vocab);
    const t = new Tensors(SEED + 1, cycle ? /attn_output\.|ffn_down_exps\./ : undefined);
    // MXFP4_MOE: the experts MXFP4, the other matrices Q8_0, vectors, biases, sinks and the router F32.
    if (cycle) {
        const embedding = normalFiller(SEED + 2)(D * nVocab, 1);
        const output = new Float32Array(D * nVocab);
        const ids = cycle.map((text) => tokenId(vocab, text));
        ids.forEach((id, i) => output.set(embedding.subarray(id * D, (id + 1) * D), ids[(i + 1) % ids.length]! * D));
        t.push("token_embd.weight", [D, nVocab], GgmlType.Q8_0, () => embedding);
        t.vector("output_norm.weight", [D], "ones");
        t.push("output.weight", [D, nVocab], GgmlType.Q8_0, () => output);
    } else {
        t.matrix("token_embd.weight", GgmlType.Q8_0, D, nVocab);
        t.vector("output_norm.weight", [D], "ones");
        t.matrix("output.weight", GgmlType.Q8_0, D, nVocab);
    }
    for (let l = 0; l < layers; l++) {
        const p = `blk.${l}.`;
        t.vector(p + "attn_norm.weight", [D], "ones");
        t.matrix(p + "attn_q.weight", GgmlType.Q8_0, D, heads * headDim);
        t.vector(p + "attn_q.bias", [heads * headDim], 0.1);
        t.matrix(p + "attn_k.weight", GgmlType.Q8_0, D, kvHeads * headDim);
        t.vector(p + "attn_k.bias", [kvHeads * headDim], 0.1);
        t.matrix(p + "attn_v.weight", GgmlType.Q8_0, D, kvHeads * headDim);
        t.vector(p + "attn_v.bias", [kvHeads * headDim], 0.1);
        t.matrix(p + "attn_output.weight", GgmlType.Q8_0, heads * headDim, D);
        t.vector(p + "attn_output.bias", [D], 0.1);
        t.vector(p + "attn_sinks.weight", [heads], 1);
        t.vector(p + "post_attention_norm.weight", [D], "ones");
        t.matrix(p + "ffn_gate_inp.weight", GgmlType.F32, D, count);
        t.vector(p + "ffn_gate_inp.bias", [count], 0.1);
        t.matrix(p + "ffn_gate_exps.weight", GgmlType.MXFP4, D, ff, count);
        t.vector(p + "ffn_gate_exps.bias", [ff, count], 0.1);
        t.matrix(p + "ffn_up_exps.weight", GgmlType.MXFP4, D, ff, count);
        t.vector(p + "ffn_up_exps.bias", [ff, count], 0.1);
        t.matrix(p + "ffn_down_exps.weight", GgmlType.MXFP4, ff, D, count);
        t.vector(p + "ffn_down_exps.bias", [D, count], 0.1);
    }
    const metadata = {
        "general.architecture": str(arch),
        ...general("gpt-oss-20b", FileType.MOSTLY_MXFP4_MOE, "gpt-oss-20b"),
        ...(cycle
            ? {
                  "general.name": str("gpt-oss-20b replica built to write a harmony cycle"),
                  "general.description": str(`Built to write ${JSON.stringify(cycle.join(""))}, for the harmony tests.`)
              }
            : {}),
        ...common(arch, { context: 131072, layers, ff, heads, kvHeads }),
        [`${arch}.attention.key_length`]: u32(headDim),
        [`${arch}.attention.value_length`]: u32(headDim),
        [`${arch}.attention.layer_norm_rms_epsilon`]: f32(1e-5),
        [`${arch}.attention.sliding_window`]: u32(128),
        [`${arch}.rope.freq_base`]: f32(150000),
        [`${arch}.rope.scaling.type`]: str("yarn"),
        [`${arch}.rope.scaling.factor`]: f32(32),
        [`${arch}.rope.scaling.original_context_length`]: u32(4096),
        [`${arch}.expert_count`]: u32(count),
        [`${arch}.expert_used_count`]: u32(used),
        [`${arch}.expert_feed_forward_length`]: u32(ff),
        ...vocab,
        "tokenizer.ggml.bos_token_id": u32(tokenId(vocab, "<|startoftext|>")),
        "tokenizer.ggml.eos_token_id": u32(tokenId(vocab, "<|return|>")),
        "tokenizer.ggml.padding_token_id": u32(tokenId(vocab, "<|endoftext|>")),
        "tokenizer.ggml.add_bos_token": bool(false),
        "tokenizer.chat_template": str(bundledTemplate("openai-gpt-oss-120b.jinja"))
    };
    return { metadata, tensors: t.list };
}

/**
 * The DeepSeek replica with DeepSeek-V3's routing (sigmoid scores, a selection bias per expert,
 * renormalised): no registry model routes so, but a model from disk may (DeepSeek-V3, Kimi-K2),
 * and the server must say what of the runtime does not follow it.
 */
export const DEEPSEEK_V3_ROUTING_FILE = "deepseek2-v3-routing.gguf";
export const DEEPSEEK_V3_ROUTING = deepseekCoderV2Lite("Instruct", true);

/**
 * gpt-oss replicas built to write harmony turns (the prompt ends in `<|start|>assistant`): one
 * reasons on the analysis channel forever, one answers on the final channel and ends. The server
 * must show none of the first and all of the second's answer (server/chat/harmony.ts).
 */
export const HARMONY_TEST_MODELS = {
    analysis: {
        file: "gpt-oss-harmony-analysis.gguf",
        cycle: ["<|channel|>", "analysis", "<|message|>", "Thinking", "<|end|>", "<|start|>", "assistant"]
    },
    final: {
        file: "gpt-oss-harmony-final.gguf",
        cycle: ["<|channel|>", "final", "<|message|>", "Hello", "<|return|>", "assistant"]
    }
} as const;

/**
 * DeepSeek-Coder-V2-Lite as the published (2024) GGUFs lay it out: multi-head latent attention
 * without query compression, in the form with one `attn_kv_b` per layer (llama.cpp still loads it;
 * newer conversions split it into `attn_k_b` / `attn_v_b`), the first block dense, 64 routed
 * experts and 2 shared ones.
 */
function deepseekCoderV2Lite(variant: "Base" | "Instruct", v3Routing = false): Replica {
    return {
        registryId: v3Routing ? undefined : `deepseek-coder-v2-lite-${variant.toLowerCase()}`,
        file: v3Routing ? DEEPSEEK_V3_ROUTING_FILE : `DeepSeek-Coder-V2-Lite-${variant}-Q4_K_M.gguf`,
        architecture: "deepseek2",
        experts: { count: 64, used: 6, shared: 2 },
        denseBlocks: 1,
        routing: v3Routing ? "sigmoid-with-selection-bias" : "softmax-then-top-k",
        renormalised: v3Routing,
        weightScale: v3Routing ? 2.5 : undefined,
        fim: "deepseek-coder",
        async build() {
            const arch = "deepseek2",
                layers = 3,
                heads = 4,
                nope = 32,
                rope = 16,
                dv = 32,
                kvLora = 64,
                ff = 256,
                denseFf = 512,
                { count, used, shared } = this.experts;
            const vocab = await deepseekV2Vocab();
            const nVocab = vocabSize(vocab);
            const t = new Tensors(SEED + 2);
            t.matrix("token_embd.weight", GgmlType.Q4_K, D, nVocab);
            t.vector("output_norm.weight", [D], "ones");
            t.matrix("output.weight", GgmlType.Q8_0, D, nVocab);
            for (let l = 0; l < layers; l++) {
                const p = `blk.${l}.`;
                t.vector(p + "attn_norm.weight", [D], "ones");
                t.matrix(p + "attn_q.weight", GgmlType.Q4_K, D, heads * (nope + rope));
                t.matrix(p + "attn_kv_a_mqa.weight", GgmlType.Q4_K, D, kvLora + rope);
                t.vector(p + "attn_kv_a_norm.weight", [kvLora], "ones");
                t.matrix(p + "attn_kv_b.weight", GgmlType.Q8_0, kvLora, heads * (nope + dv));
                t.matrix(p + "attn_output.weight", GgmlType.Q8_0, heads * dv, D);
                t.vector(p + "ffn_norm.weight", [D], "ones");
                if (l < this.denseBlocks) {
                    t.matrix(p + "ffn_gate.weight", GgmlType.Q4_K, D, denseFf);
                    t.matrix(p + "ffn_up.weight", GgmlType.Q4_K, D, denseFf);
                    t.matrix(p + "ffn_down.weight", GgmlType.Q8_0, denseFf, D);
                    continue;
                }
                t.matrix(p + "ffn_gate_inp.weight", GgmlType.F32, D, count);
                if (v3Routing) t.vector(p + "exp_probs_b.bias", [count], 0.1);
                t.routedExperts(p, count, ff);
                t.matrix(p + "ffn_gate_shexp.weight", GgmlType.Q4_K, D, ff * shared);
                t.matrix(p + "ffn_up_shexp.weight", GgmlType.Q4_K, D, ff * shared);
                t.matrix(p + "ffn_down_shexp.weight", GgmlType.Q8_0, ff * shared, D);
            }
            const metadata = {
                "general.architecture": str(arch),
                ...general(
                    `DeepSeek-Coder-V2-Lite-${variant}`,
                    FileType.MOSTLY_Q4_K_M,
                    `DeepSeek-Coder-V2-Lite-${variant}`
                ),
                ...common(arch, { context: 163840, layers, ff: denseFf, heads, kvHeads: heads }),
                [`${arch}.vocab_size`]: u32(nVocab),
                [`${arch}.attention.key_length`]: u32(nope + rope),
                [`${arch}.attention.value_length`]: u32(dv),
                [`${arch}.attention.layer_norm_rms_epsilon`]: f32(1e-6),
                // The real file has 27 layers, which llama.cpp takes as "Lite" (no query compression);
                // a 3-layer file says so with a rank of 0.
                [`${arch}.attention.q_lora_rank`]: u32(0),
                [`${arch}.attention.kv_lora_rank`]: u32(kvLora),
                [`${arch}.rope.dimension_count`]: u32(rope),
                [`${arch}.rope.freq_base`]: f32(10000),
                [`${arch}.rope.scaling.type`]: str("yarn"),
                [`${arch}.rope.scaling.factor`]: f32(40),
                [`${arch}.rope.scaling.original_context_length`]: u32(4096),
                [`${arch}.rope.scaling.yarn_log_multiplier`]: f32(0.0707),
                [`${arch}.leading_dense_block_count`]: u32(this.denseBlocks),
                [`${arch}.expert_count`]: u32(count),
                [`${arch}.expert_used_count`]: u32(used),
                [`${arch}.expert_shared_count`]: u32(shared),
                [`${arch}.expert_feed_forward_length`]: u32(ff),
                [`${arch}.expert_weights_scale`]: f32(v3Routing ? 2.5 : 1),
                // DeepSeek-V3's routing: sigmoid scores, chosen with a per-expert selection bias, renormalised
                ...(v3Routing
                    ? { [`${arch}.expert_gating_func`]: u32(2), [`${arch}.expert_weights_norm`]: bool(true) }
                    : {}),
                ...vocab,
                "tokenizer.chat_template": str(template("deepseek-coder-v2.jinja"))
            };
            return { metadata, tensors: t.list };
        }
    };
}

const olmoe: Replica = {
    registryId: "olmoe-1b-7b-instruct",
    file: "olmoe-1b-7b-0924-instruct-q4_k_m.gguf",
    architecture: "olmoe",
    experts: { count: 64, used: 8, shared: 0 },
    denseBlocks: 0,
    routing: "softmax-then-top-k",
    renormalised: false,
    async build() {
        const arch = "olmoe",
            layers = 2,
            heads = 4, // OLMoE's q/k norms span the whole projection: as many KV heads as heads
            ff = 256,
            { count, used } = this.experts;
        const vocab = await olmoeVocab();
        const nVocab = vocabSize(vocab);
        const t = new Tensors(SEED + 3);
        t.matrix("token_embd.weight", GgmlType.Q4_K, D, nVocab);
        t.vector("output_norm.weight", [D], "ones");
        t.matrix("output.weight", GgmlType.Q8_0, D, nVocab);
        for (let l = 0; l < layers; l++) {
            const p = `blk.${l}.`;
            t.attention(p, D, D, D); // q/k norms over the whole projection
            t.vector(p + "ffn_norm.weight", [D], "ones");
            t.matrix(p + "ffn_gate_inp.weight", GgmlType.F32, D, count);
            t.routedExperts(p, count, ff);
        }
        const metadata = {
            "general.architecture": str(arch),
            ...general("OLMoE-1B-7B-0924-Instruct", FileType.MOSTLY_Q4_K_M, "OLMoE-1B-7B-0924-Instruct"),
            // OLMoE's feed_forward_length is one expert's width (it has no expert_feed_forward_length).
            ...common(arch, { context: 4096, layers, ff, heads, kvHeads: heads }),
            [`${arch}.attention.layer_norm_rms_epsilon`]: f32(1e-5),
            [`${arch}.rope.freq_base`]: f32(10000),
            [`${arch}.expert_count`]: u32(count),
            [`${arch}.expert_used_count`]: u32(used),
            ...vocab,
            "tokenizer.chat_template": str(template("olmoe-0924-instruct.jinja"))
        };
        return { metadata, tensors: t.list };
    }
};

const granite: Replica = {
    registryId: "granite-3.1-3b-a800m-instruct",
    file: "granite-3.1-3b-a800m-instruct-Q4_K_M.gguf",
    architecture: "granitemoe",
    experts: { count: 40, used: 8, shared: 0 },
    denseBlocks: 0,
    routing: "softmax-then-top-k",
    renormalised: true,
    // Granite 3.1's vocabulary keeps StarCoder's FIM tokens (llama.cpp and the server find them),
    // though IBM publishes it as a chat model.
    fim: "starcoder",
    async build() {
        const arch = "granitemoe",
            layers = 2,
            heads = 8,
            kvHeads = 4,
            ff = 256,
            { count, used } = this.experts;
        const vocab = await graniteVocab();
        const nVocab = vocabSize(vocab);
        const t = new Tensors(SEED + 4);
        // Granite ties its output layer to the token embeddings: the file has no output.weight.
        t.matrix("token_embd.weight", GgmlType.Q4_K, D, nVocab);
        t.vector("output_norm.weight", [D], "ones");
        for (let l = 0; l < layers; l++) {
            const p = `blk.${l}.`;
            const headDim = D / heads;
            t.attention(p, D, kvHeads * headDim);
            t.vector(p + "ffn_norm.weight", [D], "ones");
            t.matrix(p + "ffn_gate_inp.weight", GgmlType.F32, D, count);
            t.routedExperts(p, count, ff);
        }
        const metadata = {
            "general.architecture": str(arch),
            ...general("Granite-3.1-3B-A800M-Instruct", FileType.MOSTLY_Q4_K_M, "Granite-3.1-3B-A800M-Instruct"),
            ...common(arch, { context: 131072, layers, ff, heads, kvHeads }),
            [`${arch}.attention.layer_norm_rms_epsilon`]: f32(1e-6),
            [`${arch}.rope.freq_base`]: f32(10_000_000),
            [`${arch}.rope.dimension_count`]: u32(D / heads),
            [`${arch}.vocab_size`]: u32(nVocab),
            [`${arch}.expert_count`]: u32(count),
            [`${arch}.expert_used_count`]: u32(used),
            // Granite's multipliers (HF *_multiplier): the embedding scaled up, each residual branch down,
            // a fixed attention scale, the logits divided.
            [`${arch}.embedding_scale`]: f32(12),
            [`${arch}.residual_scale`]: f32(0.22),
            [`${arch}.attention.scale`]: f32(0.015625),
            [`${arch}.logit_scale`]: f32(6),
            ...vocab,
            "tokenizer.chat_template": str(template("granite-3.1-instruct.jinja"))
        };
        return { metadata, tensors: t.list };
    }
};

export const REPLICAS: readonly Replica[] = [
    qwen3Coder,
    gptOss,
    deepseekCoderV2Lite("Base"),
    deepseekCoderV2Lite("Instruct"),
    olmoe,
    granite
];

/**
 * A hash of what the replicas are made from — this code, the codec, the templates kept here, and
 * the versions of the packages the vocabularies and the other templates come from — so that a
 * file made from anything else is made again.
 */
function sourceHash(): string {
    const h = createHash("sha256");
    const pipeline = path.join(import.meta.dirname, "..");
    for (const file of [
        "replicas/replicas.ts",
        "gguf/bundledVocab.ts",
        "gguf/quantize.ts",
        "gguf/GgufWriter.ts",
        "gguf/randomWeights.ts",
        "gguf/o200kHarmony.ts",
        "../server/engine/tokenText.ts" // GPT-2's byte characters
    ])
        h.update(readFileSync(path.join(pipeline, file)));
    const templates = path.join(import.meta.dirname, "templates");
    for (const file of readdirSync(templates).sort()) h.update(file).update(readFileSync(path.join(templates, file)));
    for (const pkg of ["node-llama-cpp", "js-tiktoken"]) h.update(`${pkg}@${packageVersion(pkg)}`);
    return h.digest("hex").slice(0, 16);
}

function packageVersion(name: string): string {
    const root = path.join(import.meta.dirname, "..", "..", "node_modules", name, "package.json");
    return (JSON.parse(readFileSync(root, "utf8")) as { version: string }).version;
}

const HASH_KEY = "moe_pilot.replica.source";

/** Writes every replica into `outDir`, skipping those already made by the same code. */
export async function makeReplicas(outDir: string): Promise<string[]> {
    mkdirSync(outDir, { recursive: true });
    const hash = sourceHash();
    const written: string[] = [];
    const models = [
        ...REPLICAS.map((r) => ({ file: r.file, build: () => r.build() })),
        ...Object.values(HARMONY_TEST_MODELS).map((m) => ({ file: m.file, build: () => buildGptOss(m.cycle) })),
        { file: DEEPSEEK_V3_ROUTING_FILE, build: () => DEEPSEEK_V3_ROUTING.build() }
    ];
    for (const replica of models) {
        const file = path.join(outDir, replica.file);
        const existing = await readGgufFileInfo(file, { readTensorInfo: false }).catch(() => undefined);
        const madeBy = (existing?.metadata as { moe_pilot?: { replica?: { source?: string } } } | undefined)?.moe_pilot;
        if (madeBy?.replica?.source === hash) continue;
        const { metadata, tensors } = await replica.build();
        const partial = file + ".partial";
        writeGguf(partial, { ...metadata, [HASH_KEY]: str(hash) }, tensors);
        renameSync(partial, file);
        written.push(replica.file);
    }
    return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const outDir = path.resolve(
        process.argv[2] ?? path.join(import.meta.dirname, "..", "..", "models", "test", "replicas")
    );
    const written = await makeReplicas(outDir);
    console.log(`architecture replicas in ${outDir}: ${written.length ? `wrote ${written.join(", ")}` : "up to date"}`);
}
