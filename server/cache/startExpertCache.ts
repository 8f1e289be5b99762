/**
 * Whether a model runs with the expert cache, and why not when it does not: the model fits the
 * memory budget, is dense, is split in parts, the platform is not Linux, or the native runtime is
 * missing. Where the user would expect the cache and it cannot run, a warning says what to do.
 */
import type { Llama } from "node-llama-cpp";
import { NativeMoeContext } from "../engine/nativeMoe";
import type { ModelInspection } from "../models/inspectModel";
import type { ExpertCacheStatus, MemorySettings } from "../protocol";
import { ExpertCache } from "./ExpertCache";
import { expertLayout } from "./expertSlices";
import { memoryBudgetBytes } from "./memoryBudget";
import { formatBytes } from "../models/formatBytes";

export type ExpertCacheStart = {
    cache?: ExpertCache;
    status: ExpertCacheStatus;
    /** For the user: the model is larger than the budget and the cache cannot help, or is off. */
    warning?: string;
    /** For the log, when the cache is on. */
    log?: string;
};

export function startExpertCache(
    llama: Llama,
    inspection: ModelInspection,
    memory: MemorySettings,
    native: boolean
): ExpertCacheStart {
    const budget = memoryBudgetBytes(memory.budget);
    const off = (reason: string, warning?: string): ExpertCacheStart => ({
        status: { state: "off", reason, budgetBytes: budget.bytes, modelBytes: inspection.sizeBytes },
        warning
    });
    const larger = `The model (${formatBytes(inspection.sizeBytes)}) is larger than the memory budget (${formatBytes(budget.bytes)})`;
    if (inspection.sizeBytes <= budget.bytes)
        return off(
            `the model (${formatBytes(inspection.sizeBytes)}) fits in the memory budget (${formatBytes(budget.bytes)}, ${budget.source})`
        );
    if (inspection.expertCount === 0) return off("a dense model has no experts to cache");
    if (inspection.parts.length > 1)
        return off(
            "the expert cache does not handle split GGUFs yet",
            `${larger}; the expert cache does not handle split GGUFs yet (merge the parts with llama-gguf-split --merge), so the kernel decides what stays in memory.`
        );
    if (process.platform !== "linux")
        return off(
            "the expert cache runs on Linux only (mlock, madvise, mincore)",
            `${larger}; the expert cache runs on Linux only, so the operating system decides what stays in memory.`
        );
    const control = native ? NativeMoeContext.memoryControl(llama, inspection.path) : undefined;
    if (!control)
        return off(
            "the expert cache needs the native MoE runtime",
            `${larger}; the expert cache needs the native MoE runtime (npm run native), so the kernel decides what stays in memory.`
        );
    const layout = expertLayout(
        inspection.fileInfo.fullTensorInfo ?? [],
        NativeMoeContext.typeGeometry(llama),
        inspection.sizeBytes
    );
    if (!layout) return off("no expert tensors were found in the file");
    const cache = ExpertCache.create(layout, inspection.sizeBytes, budget.bytes, inspection.trainedK, control);
    if (typeof cache === "string")
        return off(cache, `The expert cache is off: ${cache}. Raise moePilot.memory.budget.`);
    return {
        cache,
        status: { state: "on", budgetBytes: budget.bytes, modelBytes: inspection.sizeBytes },
        log: `expert cache on: ${formatBytes(inspection.sizeBytes)} model, budget ${formatBytes(budget.bytes)} (${budget.source}), ${cache.quotaPerLayer} of ${layout.expertCount} experts kept per layer`
    };
}
