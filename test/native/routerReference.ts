/**
 * The first MoE layer's routing of a prompt's first token, computed here in TypeScript from the
 * GGUF's own weights, for each architecture the registry recommends: an independent check of the
 * routing trace llama.cpp's graph reports. At position 0 attention has one key, so each head's
 * output is its value (times the sink's share for gpt-oss); everything else is the architecture's
 * layer as llama.cpp builds it (src/models/<arch>.cpp): norms, scales, biases, the dense first
 * layer of deepseek2, the gating (softmax then top-k, or top-k then softmax) and renormalisation.
 */
import { fromHalf, toHalf } from "../../pipeline/gguf/quantize";
import { type GgufWeights, matVec, rmsNorm } from "./ggufWeights";

export type Routing = {
    /** The block whose router this is. */
    block: number;
    /** What each expert is ranked by (the gating function's output, with a selection bias where there is one). */
    scores: Float32Array;
    /** The chosen experts, highest first, and their weights as applied to the expert outputs. */
    experts: number[];
    weights: number[];
};

/** What llama.cpp's CPU attention does to a value on its way through the F16 KV cache. */
const f16 = (x: Float32Array) => x.map((v) => fromHalf(toHalf(v)));
const add = (a: Float32Array, b: Float32Array, scale = 1) => a.map((v, i) => v + scale * b[i]!);
const silu = (v: number) => v / (1 + Math.exp(-v));
const softmax = (x: ArrayLike<number>) => {
    const max = Math.max(...Array.from(x));
    const e = Array.from(x, (v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return Float32Array.from(e, (v) => v / sum);
};

type Meta = {
    expert_used_count: number;
    expert_gating_func?: number;
    expert_weights_scale?: number;
    leading_dense_block_count?: number;
    embedding_scale?: number;
    residual_scale?: number;
    attention: {
        head_count: number;
        head_count_kv: number;
        key_length?: number;
        value_length?: number;
        kv_lora_rank?: number;
        layer_norm_rms_epsilon: number;
    };
    rope?: { dimension_count?: number; scaling?: { type?: string; factor?: number } };
};

/** Attention's output at position 0: every head's value (gpt-oss: times 1 / (1 + e^(sink - score))). */
function attention(w: GgufWeights, arch: string, m: Meta, block: number, x: Float32Array): Float32Array {
    const p = `blk.${block}.`;
    const eps = m.attention.layer_norm_rms_epsilon;
    const heads = m.attention.head_count,
        kvHeads = m.attention.head_count_kv;
    const a = rmsNorm(x, w.rows(p + "attn_norm.weight"), eps);
    if (arch === "deepseek2") {
        // Multi-head latent attention: the value comes from the compressed KV through attn_kv_b.
        const kvr = m.attention.kv_lora_rank!,
            dv = m.attention.value_length!,
            nope = m.attention.key_length! - m.rope!.dimension_count!;
        const compressed = rmsNorm(
            matVec(w.rows(p + "attn_kv_a_mqa.weight"), a).subarray(0, kvr),
            w.rows(p + "attn_kv_a_norm.weight"),
            eps
        );
        const kv = matVec(w.rows(p + "attn_kv_b.weight"), compressed);
        const out = new Float32Array(heads * dv);
        for (let h = 0; h < heads; h++)
            out.set(f16(kv.subarray(h * (nope + dv) + nope, (h + 1) * (nope + dv))), h * dv);
        return matVec(w.rows(p + "attn_output.weight"), out);
    }
    // gpt-oss's projections carry biases; the others' have none
    const biased = (y: Float32Array, name: string) => (arch === "gpt-oss" ? add(y, w.rows(p + name)) : y);
    const v = biased(matVec(w.rows(p + "attn_v.weight"), a), "attn_v.bias");
    const headDim = v.length / kvHeads,
        perKv = heads / kvHeads;
    const out = new Float32Array(heads * headDim);
    let share = (_h: number) => 1;
    if (arch === "gpt-oss") {
        // RoPE at position 0 rotates by nothing but scales q and k by YaRN's attention factor.
        const factor = m.rope?.scaling?.type === "yarn" ? 1 + 0.1 * Math.log(m.rope.scaling.factor!) : 1;
        const q = biased(matVec(w.rows(p + "attn_q.weight"), a), "attn_q.bias").map((x) => x * factor);
        const k = biased(matVec(w.rows(p + "attn_k.weight"), a), "attn_k.bias").map((x) => x * factor);
        const sinks = w.rows(p + "attn_sinks.weight");
        share = (h) => {
            const g = Math.floor(h / perKv);
            const qh = f16(q.subarray(h * headDim, (h + 1) * headDim)),
                kh = f16(k.subarray(g * headDim, (g + 1) * headDim));
            const score = qh.reduce((s, qi, i) => s + qi * kh[i]!, 0) / Math.sqrt(headDim);
            return 1 / (1 + Math.exp(sinks[h]! - score));
        };
    }
    for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / perKv);
        out.set(
            f16(v.subarray(g * headDim, (g + 1) * headDim)).map((x) => x * share(h)),
            h * headDim
        );
    }
    return biased(matVec(w.rows(p + "attn_output.weight"), out), "attn_output.bias");
}

/** The routing of the first token (`token`, alone at position 0) at the model's first MoE block. */
export async function firstRouting(w: GgufWeights, arch: string, token: number): Promise<Routing> {
    const m = w.metadata as unknown as Meta;
    const eps = m.attention.layer_norm_rms_epsilon;
    const residualScale = m.residual_scale || 1;
    let x = w.rows("token_embd.weight", token, 1);
    if (m.embedding_scale) x = x.map((v) => v * m.embedding_scale!);
    const firstMoe = m.leading_dense_block_count ?? 0;
    for (let block = 0; ; block++) {
        const p = `blk.${block}.`;
        const r = add(x, attention(w, arch, m, block, x), residualScale);
        const f = rmsNorm(r, w.rows(p + (arch === "gpt-oss" ? "post_attention_norm.weight" : "ffn_norm.weight")), eps);
        if (block < firstMoe) {
            // a dense block: SwiGLU feed-forward
            const gate = matVec(w.rows(p + "ffn_gate.weight"), f),
                up = matVec(w.rows(p + "ffn_up.weight"), f);
            x = add(
                r,
                matVec(
                    w.rows(p + "ffn_down.weight"),
                    gate.map((g, i) => silu(g) * up[i]!)
                )
            );
            continue;
        }
        const k = m.expert_used_count;
        const logits = matVec(w.rows(p + "ffn_gate_inp.weight"), f);
        if (arch === "gpt-oss") {
            // top-k of the biased logits, then a softmax over the chosen ones only
            const biased = add(logits, w.rows(p + "ffn_gate_inp.bias"));
            const experts = [...biased.keys()].sort((a, b) => biased[b]! - biased[a]!).slice(0, k);
            return {
                block,
                scores: softmax(biased),
                experts,
                weights: Array.from(softmax(experts.map((e) => biased[e]!)))
            };
        }
        if (m.expert_gating_func === 2) {
            // DeepSeek-V3's: sigmoid scores, chosen by score plus a selection bias, the unbiased
            // scores renormalised and scaled
            const scores = logits.map((l) => 1 / (1 + Math.exp(-l)));
            const bias = w.rows(p + "exp_probs_b.bias");
            const experts = [...scores.keys()]
                .sort((a, b) => scores[b]! + bias[b]! - scores[a]! - bias[a]!)
                .slice(0, k);
            const sum = experts.reduce((a, e) => a + scores[e]!, 0);
            const scale = m.expert_weights_scale || 1;
            return {
                block,
                scores: scores.map((s, e) => s + bias[e]!),
                experts,
                weights: experts.map((e) => (scores[e]! / sum) * scale)
            };
        }
        const scores = softmax(logits);
        const experts = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!).slice(0, k);
        const chosen = experts.map((e) => scores[e]!);
        // qwen3moe and granitemoe renormalise the chosen weights; olmoe and DeepSeek-V2-Lite do not
        const renormalised = arch === "qwen3moe" || arch === "granitemoe";
        const sum = chosen.reduce((a, b) => a + b, 0);
        return { block, scores, experts, weights: chosen.map((s) => (renormalised ? s / sum : s)) };
    }
}
