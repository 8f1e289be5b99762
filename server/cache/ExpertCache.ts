/**
 * The expert cache: runs a model larger than its memory budget. Three layers of it:
 * - kept: the non-expert weights (attention, norms, embeddings, router, shared experts), pinned at
 *   load, and, in each MoE layer, a quota of experts chosen by a policy (policies.ts) fed with the
 *   routing trace after every evaluation, never pushed out (pinned too only with `pinExperts`);
 * - warm: experts the kernel's page cache still holds; when what may be resident exceeds the
 *   budget, the other experts the policy values least are pushed out;
 * - cold: the rest, read from disk whole, the moment a layer chooses them (llama.cpp's prefetch
 *   hook, prefetchTable), with the kernel's read-around turned off for expert pages.
 *
 * The mechanism is the native runtime's `expertMemoryControl` (native/patches/addon/0003) on
 * llama.cpp's own mapping: mlock / munlock / MADV_WILLNEED / MADV_RANDOM / MADV_PAGEOUT / mincore,
 * after the load queued for its I/O worker (off the compute lane), and the context's prefetch hook
 * (NativeMoeContext.setPrefetch), whose reads the same worker starts. Results never change: the
 * cache decides where weights are, not which ones a token uses.
 */
import { readFileSync } from "node:fs";
import type { ByteRange, MemoryControl, PrefetchTable, RoutingRow } from "../engine/addonTypes";
import { allExpertRanges, type ExpertLayout, expertRanges, prefetchTable } from "./expertSlices";
import { type LayerCache, layerCache, type PolicyName, SCORE_DECAY } from "./policies";

export type ExpertCacheStats = {
    policy: PolicyName;
    budgetBytes: number;
    /** Experts each MoE layer keeps (never pushed out). */
    quotaPerLayer: number;
    expertCount: number;
    /** Bytes pinned now: the non-expert weights, plus the kept experts with `pinExperts`. */
    pinnedBytes: number;
    /** Expert uses found in the kept quota as the policy keeps it, since the load. */
    hits: number;
    uses: number;
    tokens: number;
    /** Bytes this process read from storage since the load (/proc/self/io), per token. */
    diskBytesPerToken: number;
    /** Pinning failed (say, `ulimit -l`): the cache only advises the kernel. */
    pinning: "on" | "refused";
    note?: string;
};

export class ExpertCache {
    private readonly caches: LayerCache[];
    private readonly kept: Set<number>[];
    private hits = 0;
    private uses = 0;
    private tokens = 0;
    private readonly readBytesAtStart = processReadBytes();
    private pinning: "on" | "refused" = "on";
    private note: string | undefined;
    private pinnedBytes = 0;
    /** Per (layer, expert): token count at the last use, uses, and gate-weighted score with its decay time. */
    private readonly lastUse: Float64Array;
    private readonly useCount: Float64Array;
    private readonly score: Float64Array;
    private sinceCheck = 0;
    private nextMeasure = 16;
    /** Experts (layer x expertCount + expert) used since they were last pushed out: maybe resident. */
    private readonly warm = new Set<number>();

    private constructor(
        private readonly layout: ExpertLayout,
        private readonly control: MemoryControl,
        private readonly policy: PolicyName,
        readonly quotaPerLayer: number,
        private readonly budgetBytes: number,
        fileSize: number,
        private readonly pinExperts: boolean
    ) {
        this.caches = layout.layers.map(() => layerCache(policy, quotaPerLayer));
        this.kept = layout.layers.map(() => new Set<number>());
        this.lastUse = new Float64Array(layout.layers.length * layout.expertCount);
        this.useCount = new Float64Array(layout.layers.length * layout.expertCount);
        this.score = new Float64Array(layout.layers.length * layout.expertCount);
        this.lock(nonExpertRanges(layout, fileSize));
        this.pinnedBytes = layout.residentTotal;
        // Experts are read whole, by prefetch (prefetchTable) or a miss: no read-around on faults,
        // which on a disk with a large read-ahead reads megabytes of other experts per fault.
        this.control("random", allExpertRanges(layout));
        // Start within the budget: loading read the whole file (llama.cpp prefetches its mapping),
        // so every expert is resident now, and none is known to be wanted yet.
        this.control("pageout", allExpertRanges(layout));
    }

    /** For the native prefetch hook (expertSlices.ts). */
    prefetchTable(): PrefetchTable {
        return prefetchTable(this.layout);
    }

    /**
     * A cache for `layout` within `budgetBytes`, or the reason in words when none is needed
     * (the file fits) or possible (the budget does not even hold the non-expert weights).
     */
    static create(
        layout: ExpertLayout,
        fileSize: number,
        budgetBytes: number,
        expertsUsed: number,
        control: MemoryControl,
        policy: PolicyName = "score",
        pinExperts = PIN_EXPERTS
    ): ExpertCache | string {
        if (fileSize <= budgetBytes)
            return `the whole model (${mib(fileSize)}) fits in the memory budget (${mib(budgetBytes)})`;
        // Room the missing experts are read into, next to what is kept: a layer's misses are
        // needed only while that layer runs, so two layers' worth (the one running, the one being
        // read) is enough; with less the kernel evicts a layer's experts before it is done.
        const transient = expertsUsed * Math.min(2, layout.layers.length) * layout.expertBytes;
        // Planned against 95% of the budget: pages shared by neighbouring experts and reads in
        // flight are resident on top of the plan (bench:cache: 96% of the budget resident at the
        // end of a run at 25% and 35%; 85% left a tenth of the budget unused).
        const forExperts = budgetBytes * PLAN_SHARE - layout.residentTotal - transient;
        if (forExperts <= 0)
            return `the memory budget (${mib(budgetBytes)}) does not hold the model's non-expert weights (${mib(layout.residentTotal)}) and one token's experts (${mib(transient)})`;
        // Pinned: about twice the active experts per layer, which catches most hits on models with
        // local routing ("Not All Models Suit Expert Offloading"); the rest of the budget is the
        // warm tier, where the kernel keeps pages and the policy picks what to push out.
        const fits = Math.floor(forExperts / (layout.expertBytes * layout.layers.length));
        const quota = Math.min(layout.expertCount, fits, 2 * expertsUsed);
        return new ExpertCache(layout, control, policy, quota, budgetBytes, fileSize, pinExperts);
    }

    /** One evaluation's routing (rows of any layers and positions): pins what the policy keeps, releases what it drops. */
    observe(rows: readonly RoutingRow[]) {
        const sorted = [...rows].sort((a, b) => a.pos - b.pos || a.layer - b.layer);
        const positions = new Set<number>();
        for (const row of sorted) {
            const cache = this.caches[row.layer];
            if (!cache) continue;
            if (!positions.has(row.pos)) {
                positions.add(row.pos);
                this.tokens++;
            }
            this.uses += row.experts.length;
            this.hits += cache.access(row.experts, row.weights);
            row.experts.forEach((e, j) => {
                const i = row.layer * this.layout.expertCount + e;
                this.score[i] = this.valueNow(i) + (row.weights[j] ?? 0);
                this.lastUse[i] = this.tokens;
                this.useCount[i]!++;
                this.warm.add(i);
            });
        }
        this.sinceCheck += positions.size;
        // Pins follow the policy every few tokens, not every token: an expert that comes and goes
        // within a few tokens is not worth an mlock and an munlock (each walks the page tables).
        if (this.sinceCheck >= SYNC_TOKENS) {
            this.sinceCheck = 0;
            this.layout.layers.forEach((_, layer) => this.sync(layer));
        }
        if (this.tokens >= this.nextMeasure) {
            this.measureWarm();
            this.nextMeasure = this.nextMeasure < 64 ? 64 : Infinity;
        }
        this.enforceBudget(); // arithmetic unless over the budget
    }

    /**
     * Adds the experts that are resident without the cache knowing (the kernel's read-ahead, still
     * arriving from the model's load when the cache pushed everything out) to the warm tier, as
     * the least recently used. That read-ahead is the only way experts become resident unseen
     * (later pages come from the model's own reads, which the trace shows), so this runs twice,
     * after 16 and 64 tokens: mincore over every expert of bench:cache's 1.4 GB model costs 3 ms
     * when they are mapped and 21 ms when they were pushed out, on the compute lane.
     */
    private measureWarm() {
        const { layers, expertCount } = this.layout;
        const ranges = allExpertRanges(this.layout);
        const perExpert = ranges.length / (layers.length * expertCount);
        const measured = this.control("residency", ranges).bytes;
        if (!measured) return;
        for (let i = 0; i < layers.length * expertCount; i++) {
            let bytes = 0;
            for (let j = 0; j < perExpert; j++) bytes += measured[i * perExpert + j]!;
            // more than the edge pages it may share with its neighbours
            if (bytes > perExpert * 2 * 4096) this.warm.add(i);
        }
    }

    /**
     * Pushes out the experts the policy values least, other than the kept ones, while the weights that may be resident
     * (non-expert weights, kept experts, and every expert used since it was last pushed out)
     * exceed the budget, down to PLAN_SHARE of it. An estimate from above: the kernel may have dropped
     * some already (measureWarm corrects it from time to time).
     */
    private enforceBudget() {
        const { expertCount, expertBytes } = this.layout;
        let total = this.layout.residentTotal + this.warm.size * expertBytes;
        if (total <= this.budgetBytes) return;
        const target = this.budgetBytes * PLAN_SHARE;
        const candidates = [...this.warm]
            .filter((i) => !this.kept[Math.floor(i / expertCount)]!.has(i % expertCount))
            .sort((a, b) => this.evictionKey(a) - this.evictionKey(b));
        const out: ByteRange[] = [];
        for (const i of candidates) {
            if (total <= target) break;
            out.push(...expertRanges(this.layout, Math.floor(i / expertCount), i % expertCount));
            this.warm.delete(i);
            total -= expertBytes;
        }
        if (out.length > 0) this.control("pageout", out, "queued");
    }

    stats(): ExpertCacheStats {
        return {
            policy: this.policy,
            budgetBytes: this.budgetBytes,
            quotaPerLayer: this.quotaPerLayer,
            expertCount: this.layout.expertCount,
            pinnedBytes: this.pinnedBytes,
            hits: this.hits,
            uses: this.uses,
            tokens: this.tokens,
            diskBytesPerToken: this.tokens > 0 ? (processReadBytes() - this.readBytesAtStart) / this.tokens : 0,
            pinning: this.pinning,
            note: this.note
        };
    }

    /** The score decayed to now (SCORE_DECAY per token since its last use). */
    private valueNow(i: number): number {
        return this.score[i]! * SCORE_DECAY ** (this.tokens - this.lastUse[i]!);
    }

    /** Lowest goes first, in the policy's terms. */
    private evictionKey(i: number): number {
        switch (this.policy) {
            case "lru":
                return this.lastUse[i]!;
            case "lfu":
                return this.useCount[i]! + this.lastUse[i]! / 2 ** 40;
            case "score":
                return this.valueNow(i);
        }
    }

    /** Resident bytes of all experts and of the kept ones, measured (mincore). */
    residency(): { experts: number; keptExperts: number } {
        const { layers, expertCount } = this.layout;
        const ranges = allExpertRanges(this.layout);
        const perExpert = ranges.length / (layers.length * expertCount);
        const measured = this.control("residency", ranges).bytes ?? new Float64Array(ranges.length);
        let experts = 0,
            keptExperts = 0;
        measured.forEach((bytes, r) => {
            const i = Math.floor(r / perExpert);
            experts += bytes;
            if (this.kept[Math.floor(i / expertCount)]!.has(i % expertCount)) keptExperts += bytes;
        });
        return { experts, keptExperts };
    }

    /** Releases the kept experts' pins, if any (the model is being unloaded). */
    dispose() {
        const all: ByteRange[] = [];
        this.layout.layers.forEach((_, layer) => {
            for (const e of this.kept[layer]!) all.push(...expertRanges(this.layout, layer, e));
            this.kept[layer]!.clear();
        });
        if (this.pinning === "on" && this.pinExperts) this.control("unlock", all);
    }

    /**
     * Brings layer `layer`'s protected experts in line with the policy's quota. They are never
     * pushed out; with `pinExperts` they are also pinned (mlock), queued for the I/O worker — off
     * by default: bench:cache measured the page-table work of mlock and munlock (which hold the
     * mapping's lock the compute thread's page faults wait for) cost more than the pins saved.
     */
    private sync(layer: number) {
        const want = this.caches[layer]!.resident,
            have = this.kept[layer]!;
        const released: ByteRange[] = [],
            added: ByteRange[] = [];
        for (const e of have)
            if (!want.has(e)) {
                have.delete(e);
                released.push(...expertRanges(this.layout, layer, e));
            }
        for (const e of want)
            if (!have.has(e)) {
                have.add(e);
                added.push(...expertRanges(this.layout, layer, e));
            }
        if (!this.pinExperts) return;
        // released, not pushed out: the expert stays warm until the budget needs its room
        if (released.length > 0 && this.pinning === "on") this.control("unlock", released, "queued");
        this.pinnedBytes +=
            ((added.length - released.length) / this.layout.layers[layer]!.tensors.length) * this.layout.expertBytes;
        if (added.length > 0) this.lock(added, "queued");
    }

    /** `queued` (after the load): on the I/O worker, whose answer carries earlier queued errors. */
    private lock(ranges: ByteRange[], when: "now" | "queued" = "now") {
        // Read what is missing in large requests first: mlock would fault it in page by page
        // (read-around is off for expert pages).
        this.control("willneed", ranges, when);
        if (this.pinning === "on") {
            const r = this.control("lock", ranges, when);
            // a queued answer carries errors of other queued operations too: only a lock's refusal counts
            if (!r.ok && (when === "now" || r.error?.startsWith("lock"))) {
                this.pinning = "refused";
                this.note = `pinning refused (${r.error}); the cache now only advises the kernel — raise \`ulimit -l\` to pin`;
            }
        }
    }
}

/** Everything in the file but the expert slices: the weights every token reads. */
function nonExpertRanges(layout: ExpertLayout, fileSize: number): ByteRange[] {
    const experts = layout.layers
        .flatMap((l) => l.tensors.map((t) => ({ offset: t.fileOffset, length: t.bytesPerExpert * layout.expertCount })))
        .sort((a, b) => a.offset - b.offset);
    const out: ByteRange[] = [];
    let at = 0;
    for (const r of experts) {
        if (r.offset > at) out.push({ offset: at, length: r.offset - at });
        at = Math.max(at, r.offset + r.length);
    }
    if (at < fileSize) out.push({ offset: at, length: fileSize - at });
    return out;
}

/** Bytes this process has caused to be read from storage (page faults on the mapping included). */
function processReadBytes(): number {
    try {
        return Number(/read_bytes:\s+(\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0);
    } catch {
        return 0;
    }
}

/** The share of the budget the kept experts and a token's reads are planned in. */
const PLAN_SHARE = 0.95;

/** Pin the protected experts with mlock (MOE_PILOT_PIN_EXPERTS=1: for bench:cache's comparison). */
const PIN_EXPERTS = process.env.MOE_PILOT_PIN_EXPERTS === "1";

/** How often (in tokens) pins follow the policy (the budget is checked after every evaluation). */
const SYNC_TOKENS = 8;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
