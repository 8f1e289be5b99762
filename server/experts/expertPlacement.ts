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
import type { Llama } from "node-llama-cpp";
import type { TensorOverride } from "../engine/addonTypes";
import { NativeMoeContext } from "../engine/nativeMoe";
import type { ExpertsOnCpu } from "../protocol";

/** Expert tensors of any layer (up, down, gate, merged gate_up, and the `chexps` variant). */
export const EXPERT_TENSORS = "\\.ffn_(up|down|gate|gate_up)_(ch|)exps";

/** The overrides for `setting`: none, every layer's experts, or the experts of the first N layers. */
export function expertPlacementOverrides(setting: ExpertsOnCpu, layerCount: number): TensorOverride[] {
    if (setting === "off" || setting === 0) return [];
    if (setting === "all" || setting >= layerCount) return [{ pattern: EXPERT_TENSORS, buffer: "CPU" }];
    return Array.from({ length: setting }, (_, i) => ({ pattern: `blk\\.${i}${EXPERT_TENSORS}`, buffer: "CPU" }));
}

/**
 * Applies `setting` to the next model loads: only meaningful when layers are offloaded to a GPU.
 * Says what happened, for the log or, when the setting cannot work, for the user.
 */
export function placeExperts(
    llama: Llama,
    model: { expertCount: number; layerCount: number },
    setting: ExpertsOnCpu
): { log?: string; warning?: string } {
    const overrides = model.expertCount > 0 ? expertPlacementOverrides(setting, model.layerCount) : [];
    const applied = NativeMoeContext.setTensorOverrides(llama, llama.gpu === false ? [] : overrides);
    if (overrides.length === 0) return {};
    if (llama.gpu === false)
        return { log: "moePilot.gpu.expertsOnCpu: no GPU is in use, so every weight is in RAM already" };
    if (!applied)
        return {
            warning:
                "moePilot.gpu.expertsOnCpu needs the native MoE runtime (npm run native); the experts are placed as llama.cpp decides."
        };
    return { log: `experts on CPU: ${overrides.map((o) => o.pattern).join(", ")}` };
}
