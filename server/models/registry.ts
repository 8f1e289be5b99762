/**
 * The registry of recommended MoE models (registry.json, data in the repository) and what fits
 * this machine. Nothing here touches the network: a download starts only from an explicit request
 * (download.ts).
 */
import os from "node:os";
import registryData from "./registry.json";
import { availableMemory } from "../cache/memoryBudget";
import { formatBytes } from "./formatBytes";
import type { ModelFit, RegistryModel } from "../protocol";

export const REGISTRY: readonly RegistryModel[] = registryData.models as RegistryModel[];

export function registryModel(id: string): RegistryModel | undefined {
    return REGISTRY.find((m) => m.id === id);
}

/** The hub's file name of a registry model. */
function registryFileName(model: RegistryModel): string {
    return model.uri.split("/").pop()!;
}

/**
 * The registry entry a file came from, by its file name: the hub's name, or node-llama-cpp's
 * download name for it (`hf_<user>_<repo>_<file>`).
 */
export function registryModelForFile(filePath: string): RegistryModel | undefined {
    const name = filePath.split(/[\\/]/).pop()?.toLowerCase() ?? "";
    return REGISTRY.find((m) => {
        const file = registryFileName(m).toLowerCase();
        return name === file || name.endsWith(`_${file}`);
    });
}

/**
 * The memory a MoE model needs at the least with the expert cache (server/cache/): its share of
 * always-used weights plus about twice the active experts per layer, estimated from the
 * parameter counts (active / total of the file), plus the context and runtime buffers.
 */
export function expertCacheFloorBytes(model: Pick<RegistryModel, "fileBytes" | "ramBytes" | "parameters">): number {
    const overhead = model.ramBytes - model.fileBytes;
    const activeShare = Math.min(1, 2 * model.parameters.activeB / model.parameters.totalB);
    return Math.round(model.fileBytes * activeShare + overhead);
}

export type MachineMemory = { totalBytes: number, availableBytes: number };

export function machineMemory(): MachineMemory {
    return { totalBytes: os.totalmem(), availableBytes: availableMemory().bytes };
}

/**
 * Whether `model` fits `machine`: `fits` in the memory available now; `expert-cache` runs with
 * part of its experts on disk (slower, still useful: docs/bench-cache.md); `too-large` does not
 * run usefully here.
 */
export function modelFit(model: Pick<RegistryModel, "fileBytes" | "ramBytes" | "parameters">, machine: MachineMemory): ModelFit {
    if (model.ramBytes <= machine.availableBytes)
        return { verdict: "fits", reason: `needs about ${formatBytes(model.ramBytes)}; ${formatBytes(machine.availableBytes)} is available` };
    const floor = expertCacheFloorBytes(model);
    if (floor <= machine.availableBytes)
        return { verdict: "expert-cache", reason: `needs about ${formatBytes(model.ramBytes)} to be fully in memory, ${formatBytes(machine.availableBytes)} is available: runs with the expert cache (from about ${formatBytes(floor)})` };
    return { verdict: "too-large", reason: `needs at least ${formatBytes(floor)} even with the expert cache; ${formatBytes(machine.availableBytes)} is available` };
}

/** The registry's starting k per workload for a file it lists (the expert-count policy's `auto`). */
export function recommendedK(filePath: string): RegistryModel["experts"]["recommendedK"] | undefined {
    return registryModelForFile(filePath)?.experts.recommendedK;
}
