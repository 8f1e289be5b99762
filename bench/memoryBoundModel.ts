/**
 * The memory-bound MoE that bench:experts and bench:cache measure: the project's synthetic one
 * (pipeline/syntheticMoe.ts: random weights, so its speed is real and its text is not), or with
 * `--model` a GGUF of a trained MoE. Goals that need a trained router — drafts the model agrees
 * with, next-layer prediction of the experts a cache misses — can then be measured wherever such
 * a model can be had (this project's machine reaches no model hub). A page for another model is
 * written under .cache/bench/<file name>/, so docs/ keeps the synthetic model's figures.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { SYNTHETIC_SHAPES, syntheticMoe } from "../pipeline/syntheticMoe";

export type MemoryBoundModel = {
    path: string;
    synthetic: boolean;
    /** For prose: "the synthetic MoE", or the model's own name. */
    name: string;
    /** What it is, said wherever its figures are shown. */
    description: string;
    experts: number;
    expertsUsed: number;
    /** Layers with experts. */
    layers: number;
    /** Where the benchmark's page and chart go. */
    pagesDir: string;
};

export async function memoryBoundModel(model: string | undefined, root: string): Promise<MemoryBoundModel> {
    if (model === undefined) {
        const shape = SYNTHETIC_SHAPES.memoryBound;
        return {
            path: await syntheticMoe("memoryBound"),
            synthetic: true,
            name: "the synthetic MoE",
            description: shape.description,
            experts: shape.experts,
            expertsUsed: shape.expertsUsed,
            layers: shape.layers,
            pagesDir: path.join(root, "docs")
        };
    }
    const file = path.resolve(model);
    if (!existsSync(file)) throw new Error(`--model: ${file} does not exist`);
    const info = await readGgufFileInfo(file, { readTensorInfo: true });
    const meta = info.architectureMetadata as { expert_count?: number; expert_used_count?: number };
    if (!meta.expert_count || !meta.expert_used_count)
        throw new Error(`--model: ${file} is not a mixture of experts (its GGUF has no expert count)`);
    const name = info.metadata.general?.name ?? path.basename(file, ".gguf");
    return {
        path: file,
        synthetic: false,
        name,
        description: `${name} (${info.metadata.general?.architecture}, ${meta.expert_count} experts, ${meta.expert_used_count} used; ${path.basename(file)})`,
        experts: meta.expert_count,
        expertsUsed: meta.expert_used_count,
        layers: new Set(
            (info.fullTensorInfo ?? []).filter((t) => /_exps\./.test(t.name)).map((t) => t.name.split(".")[1])
        ).size,
        pagesDir: path.join(root, ".cache", "bench", path.basename(file, ".gguf"))
    };
}
