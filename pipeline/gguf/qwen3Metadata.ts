/**
 * The hyperparameter keys llama.cpp's qwen3 / qwen3moe loaders read, in one place for every model
 * the pipeline writes (the trained demo model, the test models, the synthetic benchmark MoE).
 */
import { f32, type GgufValue, u32 } from "./GgufWriter";

export type Qwen3Shape = {
    contextLength: number;
    embedding: number;
    layers: number;
    /** The dense feed-forward width; for a MoE, expertFeedForward x expertsUsed (what llama.cpp expects there). */
    feedForward: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    eps?: number;
    ropeBase?: number;
    moe?: { experts: number; expertsUsed: number; expertFeedForward: number };
};

export function qwen3Hyperparameters(arch: string, s: Qwen3Shape): Record<string, GgufValue> {
    return {
        [`${arch}.context_length`]: u32(s.contextLength),
        [`${arch}.embedding_length`]: u32(s.embedding),
        [`${arch}.block_count`]: u32(s.layers),
        [`${arch}.feed_forward_length`]: u32(s.feedForward),
        [`${arch}.attention.head_count`]: u32(s.heads),
        [`${arch}.attention.head_count_kv`]: u32(s.kvHeads),
        [`${arch}.attention.key_length`]: u32(s.headDim),
        [`${arch}.attention.value_length`]: u32(s.headDim),
        [`${arch}.attention.layer_norm_rms_epsilon`]: f32(s.eps ?? 1e-6),
        [`${arch}.rope.freq_base`]: f32(s.ropeBase ?? 10000),
        ...(s.moe
            ? {
                  [`${arch}.expert_count`]: u32(s.moe.experts),
                  [`${arch}.expert_used_count`]: u32(s.moe.expertsUsed),
                  [`${arch}.expert_feed_forward_length`]: u32(s.moe.expertFeedForward)
              }
            : {})
    };
}
