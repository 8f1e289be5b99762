/**
 * Which experts to keep resident: per-layer caches of a fixed number of experts (the quota), fed
 * one token's routing at a time. "Not All Models Suit Expert Offloading" finds that about twice the
 * active experts per layer captures most hits on models with local routing consistency, so quotas
 * are per layer, not one pool.
 *
 * - `lru`: evict the expert used least recently.
 * - `lfu`: evict the expert used least often (ties: least recently).
 * - `score` (the project's): each use adds the expert's gate weight to a score that decays by
 *   `decay` at every token of the layer, so frequency, recency and how much the token relied on
 *   the expert all count; evict the lowest score. `decay` 0.95 measured best overall by
 *   `npm run sim:cache` (0.8–0.98 tried: learned routing likes faster decay, stationary routing
 *   slower).
 * - Belady's optimal (evict the expert needed furthest in the future) needs the future, so it
 *   lives in the simulator (bench/cache/simulate.ts), as the bound the others are measured against.
 */
export type PolicyName = "lru" | "lfu" | "score";

export interface LayerCache {
    /** One token's routing: its experts and their gate weights. Returns how many were resident. */
    access(experts: readonly number[], weights: readonly number[]): number;
    readonly resident: ReadonlySet<number>;
}

/** The score policy's decay per token of the layer. */
export const SCORE_DECAY = 0.95;

export function layerCache(policy: PolicyName, capacity: number, decay = SCORE_DECAY): LayerCache {
    switch (policy) {
        case "lru":
            return new KeyedCache(capacity, (e) => e.lastUse);
        case "lfu":
            return new KeyedCache(capacity, (e) => e.uses + e.lastUse / 2 ** 40);
        case "score":
            return new ScoreCache(capacity, decay);
    }
}

type Entry = { uses: number; lastUse: number };

/** Evicts the resident expert with the smallest key. */
class KeyedCache implements LayerCache {
    private entries = new Map<number, Entry>();
    private clock = 0;
    readonly resident = new Set<number>();

    constructor(
        private readonly capacity: number,
        private readonly key: (e: Entry) => number
    ) {}

    access(experts: readonly number[]): number {
        this.clock++;
        let hits = 0;
        for (const x of experts) if (this.resident.has(x)) hits++;
        for (const x of experts) {
            const e = this.entries.get(x) ?? { uses: 0, lastUse: 0 };
            e.uses++;
            e.lastUse = this.clock;
            this.entries.set(x, e);
            this.admit(x, experts);
        }
        return hits;
    }

    private admit(x: number, inUse: readonly number[]) {
        if (this.resident.has(x) || this.capacity <= 0) return;
        if (this.resident.size >= this.capacity) {
            let victim: number | undefined,
                best = Infinity;
            for (const r of this.resident) {
                if (inUse.includes(r)) continue; // the token needs it now
                const k = this.key(this.entries.get(r)!);
                if (k < best) {
                    best = k;
                    victim = r;
                }
            }
            if (victim === undefined) return;
            this.resident.delete(victim);
        }
        this.resident.add(x);
    }
}

class ScoreCache implements LayerCache {
    private scores = new Map<number, number>();
    readonly resident = new Set<number>();

    constructor(
        private readonly capacity: number,
        private readonly decay: number
    ) {}

    access(experts: readonly number[], weights: readonly number[]): number {
        let hits = 0;
        for (const x of experts) if (this.resident.has(x)) hits++;
        for (const [x, s] of this.scores) this.scores.set(x, s * this.decay);
        experts.forEach((x, i) => this.scores.set(x, (this.scores.get(x) ?? 0) + (weights[i] ?? 1 / experts.length)));
        for (const x of experts) {
            if (this.resident.has(x) || this.capacity <= 0) continue;
            if (this.resident.size >= this.capacity) {
                let victim: number | undefined,
                    best = Infinity;
                for (const r of this.resident) {
                    if (experts.includes(r)) continue;
                    const s = this.scores.get(r) ?? 0;
                    if (s < best) {
                        best = s;
                        victim = r;
                    }
                }
                if (victim === undefined) continue;
                this.resident.delete(victim);
            }
            this.resident.add(x);
        }
        return hits;
    }
}

/**
 * Belady's optimal hit count for one layer's access sequence at `capacity`: on a miss with the
 * cache full, evict the resident expert whose next use is furthest away (never, first).
 */
export function beladyHits(sequence: readonly (readonly number[])[], capacity: number): number {
    // next use of each (token, expert) occurrence
    const nextUse: number[][] = sequence.map((experts) => experts.map(() => Infinity));
    const seen = new Map<number, number>();
    for (let t = sequence.length - 1; t >= 0; t--) {
        sequence[t]!.forEach((x, i) => {
            nextUse[t]![i] = seen.get(x) ?? Infinity;
        });
        for (const x of sequence[t]!) seen.set(x, t);
    }
    const resident = new Map<number, number>(); // expert → its next use
    let hits = 0;
    sequence.forEach((experts, t) => {
        for (const x of experts) if (resident.has(x)) hits++;
        experts.forEach((x, i) => {
            if (!resident.has(x) && resident.size >= capacity && capacity > 0) {
                let victim: number | undefined,
                    furthest = -1;
                for (const [r, n] of resident)
                    if (!experts.includes(r) && n > furthest) {
                        furthest = n;
                        victim = r;
                    }
                if (victim === undefined) return;
                resident.delete(victim);
            }
            if (capacity > 0) resident.set(x, nextUse[t]![i]!);
        });
    });
    return hits;
}
