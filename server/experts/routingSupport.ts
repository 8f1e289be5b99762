/**
 * What of the native MoE runtime a model's routing allows, from its GGUF alone. Every MoE graph
 * in the bundled llama.cpp routes through one function (`build_moe_ffn`), which the runtime
 * patches: the per-context expert count, the routing trace and adaptive routing reach every
 * architecture (the architecture replicas check each registry one). Next-layer prediction is the
 * exception: it runs the next layer's router on the CPU and ranks its plain logits (plus the
 * router's bias, gpt-oss): how softmax and sigmoid routers choose (both functions keep the
 * logits' order). A router that chooses with a per-expert selection bias (DeepSeek-V3, Kimi-K2:
 * `exp_probs_b`) or only among its best expert groups ranks otherwise, and the prediction would
 * read experts it will not use.
 */
import type { GgufFileInfo } from "node-llama-cpp";

/** Why next-layer prediction cannot follow this model's routing, or undefined when it can. */
export function nextLayerPredictionLimit(fileInfo: GgufFileInfo): string | undefined {
    const arch = (fileInfo.architectureMetadata ?? {}) as { expert_group_count?: number };
    if ((fileInfo.fullTensorInfo ?? []).some((t) => t.name.endsWith(".exp_probs_b.bias")))
        return "its router chooses experts with a selection bias per expert, which the prediction does not model";
    if ((arch.expert_group_count ?? 0) > 1)
        return "its router chooses among its best groups of experts, which the prediction does not model";
    return undefined;
}
