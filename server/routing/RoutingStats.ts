/**
 * Statistics of the routing trace (native/): which experts each MoE layer uses, how evenly, and
 * how local the choice is from token to token — the figures an expert cache lives on.
 *
 * Per layer:
 * - load: tokens routed to each expert;
 * - load entropy: of that distribution, in bits (log2 of the expert count when perfectly even);
 * - previous-token overlap: the share of a token's experts the previous token also used;
 * - window hit rate at C: over windows of WINDOW consecutive tokens, the share of expert uses a
 *   per-layer cache holding the window's C most used experts would serve — the best any cache of
 *   C experts can do on that window without changing what it holds.
 */
import type { RoutingRow } from "../engine/addonTypes";
import type { LayerRouting, RoutingActivity, WorkloadRouting } from "../protocol";

export const WINDOW = 64;

class LayerStats {
    readonly load: number[];
    tokens = 0;
    uses = 0;
    overlapSum = 0;
    overlapPairs = 0;
    private previous?: { pos: number; experts: number[] };
    private window: number[];
    private windowTokens = 0;
    private windowHits = new Map<number, number>();
    private windowUses = 0;

    constructor(
        experts: number,
        private readonly sizes: number[]
    ) {
        this.load = new Array<number>(experts).fill(0);
        this.window = new Array<number>(experts).fill(0);
    }

    add(row: RoutingRow) {
        this.tokens++;
        for (const e of row.experts) {
            this.load[e]!++;
            this.window[e]!++;
            this.uses++;
        }
        if (this.previous && row.pos === this.previous.pos + 1 && row.experts.length > 0) {
            const before = new Set(this.previous.experts);
            this.overlapSum += row.experts.filter((e) => before.has(e)).length / row.experts.length;
            this.overlapPairs++;
        }
        this.previous = { pos: row.pos, experts: row.experts };
        if (++this.windowTokens === WINDOW) this.closeWindow();
    }

    private closeWindow() {
        const sorted = [...this.window].sort((a, b) => b - a);
        const used = sorted.reduce((a, b) => a + b, 0);
        for (const c of this.sizes)
            this.windowHits.set(c, (this.windowHits.get(c) ?? 0) + sorted.slice(0, c).reduce((a, b) => a + b, 0));
        this.windowUses += used;
        this.window.fill(0);
        this.windowTokens = 0;
    }

    summary(layer: number): LayerRouting {
        const entropy =
            this.uses === 0
                ? 0
                : -this.load.reduce((h, n) => (n === 0 ? h : h + (n / this.uses) * Math.log2(n / this.uses)), 0);
        return {
            layer,
            load: [...this.load],
            loadEntropyBits: entropy,
            previousTokenOverlap: this.overlapPairs === 0 ? undefined : this.overlapSum / this.overlapPairs,
            windowHitRate:
                this.windowUses === 0
                    ? undefined
                    : Object.fromEntries(this.sizes.map((c) => [c, (this.windowHits.get(c) ?? 0) / this.windowUses]))
        };
    }
}

/** Routing statistics of one workload (completion or chat) since the model was loaded. */
export class RoutingStats {
    private layers = new Map<number, LayerStats>();
    private dropped = 0;

    /** `usedPerToken`: the trained k; window hit rates are reported for caches of 1x, 2x and 4x it. */
    constructor(
        private readonly expertCount: number,
        private readonly usedPerToken: number
    ) {}

    add(rows: RoutingRow[], dropped = 0) {
        this.dropped += dropped;
        const sizes = [1, 2, 4].map((m) => Math.min(this.expertCount, m * this.usedPerToken));
        for (const row of rows) {
            let layer = this.layers.get(row.layer);
            if (!layer) this.layers.set(row.layer, (layer = new LayerStats(this.expertCount, sizes)));
            layer.add(row);
        }
    }

    summary(): WorkloadRouting {
        const layers = [...this.layers.entries()].sort((a, b) => a[0] - b[0]).map(([i, l]) => l.summary(i));
        const all = [...this.layers.values()];
        const rows = all.reduce((n, l) => n + l.tokens, 0);
        return {
            tokens: Math.max(0, ...all.map((l) => l.tokens)),
            averageK: rows === 0 ? 0 : all.reduce((n, l) => n + l.uses, 0) / rows,
            droppedRows: this.dropped,
            layers
        };
    }
}

/** What a batch of rows did, per layer: how many tokens each expert took (for the live heatmap). */
export function activity(rows: RoutingRow[], expertCount: number): RoutingActivity {
    const layers: number[][] = [];
    for (const row of rows) {
        const counts = (layers[row.layer] ??= new Array<number>(expertCount).fill(0));
        for (const e of row.experts) counts[e]!++;
    }
    for (let i = 0; i < layers.length; i++) layers[i] ??= new Array<number>(expertCount).fill(0);
    return { expertCount, layers };
}
