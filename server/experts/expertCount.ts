/**
 * The expert-count policy: how many experts per token (k) a workload runs, for completion and
 * chat alike. Pure, so both follow the same rules and a unit test pins them:
 *
 * - a dense model has no k (0, "not-moe");
 * - `auto` is the registry's starting point for the workload when it lists the model and
 *   recommends fewer experts than the trained k (registry.json), else the trained k; for
 *   completion on a model whose adaptive routing was measured (the embedded one: bench:experts),
 *   with the native runtime, it is that adaptive setting capped at the trained k (chat keeps the
 *   trained k: its answers are longer and quality matters more than the first token's latency);
 * - a number above the model's expert count is clamped to it, with a warning naming where the
 *   number came from (the setting's full key, or the chat's own choice);
 * - the mode says how the count is applied: the native runtime on one model instance, the
 *   trained count on stock binaries, or a model instance loaded with a metadata override.
 */
import type { AdaptiveRouting, ExpertMode } from "../protocol";

export type Workload = "completion" | "chat";

/** What the policy reads of a model. */
export type ExpertModel = {
    name: string;
    /** Experts per MoE layer (0: dense). */
    expertCount: number;
    trainedK: number;
    /** The registry's starting k per workload, for a model it lists. */
    recommendedK?: { completion: number | null; chat: number | null };
    /** Adaptive routing measured on this model for completion: the fastest within 1% of the trained k's quality. */
    adaptive?: AdaptiveRouting;
};

/** `adaptive`: on top of `k`, which is then its cap. */
export type ExpertChoice = { k: number; mode: ExpertMode; adaptive?: AdaptiveRouting; warning?: string };

/**
 * `wanted`: `auto` or a number from 1; `source`: where it came from, for the warning
 * (`moePilot.completion.experts`, "this chat's expert count").
 */
export function chooseK(
    model: ExpertModel,
    workload: Workload,
    wanted: "auto" | number,
    native: boolean,
    source: string
): ExpertChoice {
    if (model.expertCount === 0) return { k: 0, mode: "not-moe" };
    const mode = (k: number): ExpertMode => (native ? "native" : k === model.trainedK ? "trained" : "override");
    if (wanted === "auto") {
        if (workload === "completion" && native && model.adaptive)
            return { k: model.trainedK, mode: "native", adaptive: model.adaptive };
        const recommended = model.recommendedK?.[workload];
        const k = recommended && recommended < model.trainedK ? recommended : model.trainedK;
        return { k, mode: mode(k) };
    }
    if (wanted > model.expertCount) {
        const k = model.expertCount;
        return {
            k,
            mode: mode(k),
            warning: `${source} is ${wanted}, but ${model.name} has ${model.expertCount} experts per layer; using ${k}.`
        };
    }
    const k = Math.max(1, Math.round(wanted));
    return { k, mode: mode(k) };
}

/** The choice in a log line's words: `k=2`, or `k<=2 adaptive p=0.8`. */
export function routingText(choice: Pick<ExpertChoice, "k" | "adaptive">): string {
    return choice.adaptive
        ? `k<=${choice.k} adaptive p=${choice.adaptive.p}${choice.adaptive.kMin > 1 ? ` min ${choice.adaptive.kMin}` : ""}`
        : `k=${choice.k}`;
}
