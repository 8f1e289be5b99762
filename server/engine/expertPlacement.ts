/**
 * Experts-on-CPU placement, for users whose model is offloaded to a GPU: which tensors stay in
 * host memory. MoE expert weights are most of a model but each token reads few of them, so
 * keeping them in RAM and the rest (attention, norms, router, shared experts) in VRAM fits a model
 * far larger than the GPU — what llama-server's `--cpu-moe` and `--n-cpu-moe N` do, with the same
 * patterns (llama.cpp's common/common.h `LLM_FFN_EXPS_REGEX`).
 *
 * Applied through the native runtime's `setMoeTensorOverrides` (native/patches/addon/0002). Not
 * run on the development machines (no GPU there): the list is unit-tested and the native test
 * checks that llama.cpp receives it.
 */
import type { ExpertsOnCpu } from "../protocol";

export type TensorOverride = { pattern: string, buffer: string };

/** Expert tensors of any layer (up, down, gate, merged gate_up, and the `chexps` variant). */
export const EXPERT_TENSORS = "\\.ffn_(up|down|gate|gate_up)_(ch|)exps";

/** The overrides for `setting`: none, every layer's experts, or the experts of the first N layers. */
export function expertPlacementOverrides(setting: ExpertsOnCpu, layerCount: number): TensorOverride[] {
    if (setting === "off" || setting === 0) return [];
    if (setting === "all" || setting >= layerCount) return [{ pattern: EXPERT_TENSORS, buffer: "CPU" }];
    return Array.from({ length: setting }, (_, i) => ({ pattern: `blk\\.${i}${EXPERT_TENSORS}`, buffer: "CPU" }));
}
