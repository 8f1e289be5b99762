/**
 * The routing trace's wiring: every native context of a load records which experts each token
 * took (a ring in llama.cpp); after each evaluation the rows are drained into the workload's
 * statistics (RoutingStats.ts) and, for contexts on the file the expert cache manages, into the
 * cache's policy, whose prefetch hook those contexts also carry.
 */
import type { ExpertCache } from "../cache/ExpertCache";
import type { RoutingRow } from "../engine/addonTypes";
import type { NativeMoeContext } from "../engine/nativeMoe";
import type { Workload } from "../experts/expertCount";
import type { Logger } from "../log";
import type { ExpertCacheStatus } from "../protocol";
import { RoutingStats } from "./RoutingStats";

/** Unread trace rows are kept up to this many bytes per context (a long prompt's oldest rows are dropped, and counted). */
const TRACE_BUFFER_BYTES = 16 << 20;

type TracedModel = { path: string; expertCount: number; trainedK: number };

export class RoutingTrace {
    readonly stats: Record<Workload, RoutingStats>;
    /** Contexts on the cached file: they prefetch into the cache, and their rows feed its policy. */
    private readonly cached = new Set<NativeMoeContext>();

    constructor(
        models: Record<Workload, TracedModel>,
        private readonly cache: { instance: ExpertCache; path: string; predictNextLayer: boolean } | undefined,
        private readonly log: Logger
    ) {
        this.stats = {
            completion: new RoutingStats(models.completion.expertCount, models.completion.trainedK),
            chat: new RoutingStats(models.chat.expertCount, models.chat.trainedK)
        };
    }

    /** Starts recording `moe`'s routing; on the cached file, its evaluations also prefetch for the cache. */
    attach(moe: NativeMoeContext, modelPath: string, expertCount: number) {
        // a row: layer, position, count, then an id and a weight per expert
        moe.setTrace(true, Math.floor(TRACE_BUFFER_BYTES / (12 + 8 * expertCount)));
        if (!this.cache || modelPath !== this.cache.path) return;
        this.cached.add(moe);
        const prefetch = moe.setPrefetch(
            this.cache.path,
            this.cache.instance.prefetchTable(),
            this.cache.predictNextLayer
        );
        if (prefetch !== true) this.log.warn(`expert prefetch: ${prefetch}`);
    }

    /** Takes the rows `moe` recorded since the last call into `workload`'s statistics, and returns them. Call on the lane. */
    take(workload: Workload, moe: NativeMoeContext | undefined): RoutingRow[] {
        if (!moe) return [];
        const { rows, dropped } = moe.readTrace();
        this.stats[workload].add(rows, dropped);
        if (this.cached.has(moe)) this.cache?.instance.observe(rows);
        return rows;
    }

    /** The expert cache's figures since the load, with the share its next-layer prediction named. */
    cacheStatus(status: ExpertCacheStatus): ExpertCacheStatus {
        if (!this.cache) return status;
        const s = this.cache.instance.stats();
        const prediction = [...this.cached].reduce(
            (sum, moe) => {
                const p = moe.prefetchStats();
                return {
                    predicted: sum.predicted + p.predicted,
                    chosen: sum.chosen + p.chosen,
                    resident: sum.resident + p.residentBytes,
                    requested: sum.requested + p.requestedBytes
                };
            },
            { predicted: 0, chosen: 0, resident: 0, requested: 0 }
        );
        const read = prediction.resident + prediction.requested;
        return {
            ...status,
            quotaPerLayer: s.quotaPerLayer,
            policy: s.policy,
            hitRate: s.uses > 0 ? s.hits / s.uses : undefined,
            predictedShare: prediction.chosen > 0 ? prediction.predicted / prediction.chosen : undefined,
            inMemoryShare: read > 0 ? prediction.resident / read : undefined,
            diskBytesPerToken: s.diskBytesPerToken,
            pinnedBytes: s.pinnedBytes,
            tokens: s.tokens,
            reason: s.note
        };
    }
}
