/**
 * A text's vector from the model's own routing (MoEE, "Your Mixture-of-Experts LLM Is Secretly an
 * Embedding Model For Free"): for each MoE layer, the mean over the text's tokens of the weight
 * each expert got, normalised per layer so every layer counts the same, concatenated. Evaluated
 * with every expert routed (k = the expert count), the weights are the router's whole
 * distribution rather than its top-k, which is what MoEE pools. Pure: the rows come from the
 * native runtime's trace (engine/LocalBackend.ts runs the text).
 */
import type { RoutingRow } from "../engine/addonTypes";

export function poolRouting(rows: readonly RoutingRow[], layers: number, expertCount: number): Float32Array {
    const vector = new Float32Array(layers * expertCount);
    for (const row of rows) {
        if (row.layer < 0 || row.layer >= layers) continue;
        const base = row.layer * expertCount;
        row.experts.forEach((e, i) => {
            if (e >= 0 && e < expertCount) vector[base + e]! += row.weights[i] ?? 0;
        });
    }
    for (let l = 0; l < layers; l++) {
        let norm = 0;
        for (let e = 0; e < expertCount; e++) norm += vector[l * expertCount + e]! ** 2;
        norm = Math.sqrt(norm);
        if (norm > 0) for (let e = 0; e < expertCount; e++) vector[l * expertCount + e]! /= norm * Math.sqrt(layers);
    }
    return vector;
}

/** Cosine similarity of two pooled vectors (both already of unit length, or zero). */
export function cosine(a: Float32Array, b: Float32Array): number {
    let dot = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) dot += a[i]! * b[i]!;
    return dot;
}
