/**
 * The local model as an embedding model (routing/routingEmbedding.ts): a context of its own, with
 * every expert routed and the trace on, that evaluates a text without generating and pools the
 * routing its tokens took. Each text is one job on the compute lane at background priority, so a
 * completion or a chat never waits for more than one text (its prefill: a few milliseconds on
 * the demo model).
 */
import type { LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type { ModelInspection } from "../models/inspectModel";
import { poolRouting } from "../routing/routingEmbedding";
import { type ComputeLane, Priority } from "./ComputeLane";
import { NativeMoeContext } from "./nativeMoe";

/** Texts are cut to this many tokens (a chunk is at most 2,400 characters: about 800 tokens of code). */
const EMBED_TOKENS = 512;

export class RoutingEmbedder {
    private ready?: Promise<{ context: LlamaContext; sequence: LlamaContextSequence; moe: NativeMoeContext }>;
    private failed?: Error;

    constructor(
        private readonly model: LlamaModel,
        private readonly inspection: ModelInspection,
        private readonly lane: ComputeLane,
        private readonly threads: number,
        private readonly gone: AbortSignal,
        /** Experts routed per token: all of them (the router's whole distribution), unless a measurement asks otherwise. */
        private readonly k = inspection.expertCount
    ) {}

    /** The vector of `text`, or undefined when the backend went away meanwhile. */
    async embed(text: string, signal?: AbortSignal): Promise<Float32Array | undefined> {
        if (this.failed) throw this.failed;
        const both = signal ? AbortSignal.any([signal, this.gone]) : this.gone;
        return this.lane.run(Priority.Background, both, async () => {
            if (this.gone.aborted) return undefined;
            // Made on the lane, like all model work; a context that cannot be made is not tried again.
            const parts = await this.parts().catch((e: unknown) => {
                this.failed = e instanceof Error ? e : new Error(String(e));
                throw this.failed;
            });
            const tokens = this.model.tokenize(text).slice(0, EMBED_TOKENS);
            if (tokens.length === 0) return new Float32Array(this.inspection.layerCount * this.inspection.expertCount);
            parts.moe.readTrace(); // nothing left over from an interrupted text
            try {
                await parts.sequence.evaluateWithoutGeneratingNewTokens(tokens);
                const { rows } = parts.moe.readTrace();
                return poolRouting(rows, this.inspection.layerCount, this.inspection.expertCount);
            } finally {
                await parts.sequence.clearHistory();
            }
        });
    }

    async dispose() {
        const parts = await this.ready?.catch(() => undefined);
        await parts?.context.dispose();
    }

    private parts() {
        this.ready ??= (async () => {
            const context = await this.model.createContext({
                contextSize: EMBED_TOKENS + 8,
                batchSize: EMBED_TOKENS + 8,
                threads: this.threads,
                sequences: 1
            });
            const moe = NativeMoeContext.of(context, this.inspection.expertCount);
            if (!moe) {
                await context.dispose();
                throw new Error("routing embeddings need the native MoE runtime");
            }
            // Every expert routed: the trace then carries the router's whole distribution.
            moe.setExperts(this.k);
            moe.setTrace(true, EMBED_TOKENS * Math.max(1, this.inspection.layerCount) * 2);
            return { context, sequence: context.getSequence(), moe };
        })();
        return this.ready;
    }
}
