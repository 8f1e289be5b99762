/**
 * The expert cache: keeps a model's resident weights within a memory budget when the whole file
 * does not fit. Non-expert weights (attention, norms, embeddings, router, shared experts) are
 * pinned; of the experts, each MoE layer keeps a quota pinned, chosen by a policy (policies.ts)
 * fed with the routing trace after every evaluation; the rest stay on disk behind llama.cpp's
 * memory map and are read on demand (and pushed out again when the policy lets them go).
 *
 * The mechanism is the native runtime's `expertMemoryControl` (native/patches/addon/0003) on
 * llama.cpp's own mapping: mlock / munlock / MADV_PAGEOUT / mincore. Results never change: the
 * cache decides where weights are, not which ones a token uses.
 */
import { readFileSync } from "node:fs";
import type { RoutingRow } from "../engine/nativeMoe";
import { type ByteRange, type ExpertLayout, expertRanges } from "./expertSlices";
import { type LayerCache, layerCache, type PolicyName } from "./policies";

export type MemoryOp = "lock" | "unlock" | "willneed" | "pageout" | "residency";
export type MemoryControl = (op: MemoryOp, ranges: readonly ByteRange[]) => { ok: boolean, error?: string, bytes?: Float64Array };

export type ExpertCacheStats = {
    policy: PolicyName,
    budgetBytes: number,
    /** Experts each MoE layer keeps pinned. */
    quotaPerLayer: number,
    expertCount: number,
    /** Bytes pinned now: non-expert weights plus the pinned experts. */
    pinnedBytes: number,
    /** Expert uses found pinned, since the load. */
    hits: number,
    uses: number,
    tokens: number,
    /** Bytes this process read from storage since the load (/proc/self/io), per token. */
    diskBytesPerToken: number,
    /** Pinning failed (say, `ulimit -l`): the cache only advises the kernel. */
    pinning: "on" | "refused",
    note?: string
};

export class ExpertCache {
    private readonly caches: LayerCache[];
    private readonly pinned: Set<number>[];
    private hits = 0;
    private uses = 0;
    private tokens = 0;
    private readonly readBytesAtStart = processReadBytes();
    private pinning: "on" | "refused" = "on";
    private note: string | undefined;
    private pinnedBytes = 0;

    private constructor(private readonly layout: ExpertLayout, private readonly control: MemoryControl, private readonly policy: PolicyName,
        readonly quotaPerLayer: number, private readonly budgetBytes: number, fileSize: number) {
        this.caches = layout.layers.map(() => layerCache(policy, quotaPerLayer));
        this.pinned = layout.layers.map(() => new Set<number>());
        this.lock(nonExpertRanges(layout, fileSize), layout.residentTotal);
    }

    /**
     * A cache for `layout` within `budgetBytes`, or undefined with the reason when none is needed
     * (the file fits) or possible (the budget does not even hold the non-expert weights).
     */
    static create(layout: ExpertLayout, fileSize: number, budgetBytes: number, expertsUsed: number, control: MemoryControl, policy: PolicyName = "score"): ExpertCache | string {
        if (fileSize <= budgetBytes) return `the whole model (${mib(fileSize)}) fits in the memory budget (${mib(budgetBytes)})`;
        // Room a token's missing experts are read into, next to what is pinned: without it the
        // kernel evicts the token's own experts while the token still needs them.
        const transient = expertsUsed * layout.layers.length * layout.expertBytes;
        const forExperts = budgetBytes - layout.residentTotal - transient;
        if (forExperts <= 0) return `the memory budget (${mib(budgetBytes)}) does not hold the model's non-expert weights (${mib(layout.residentTotal)}) and one token's experts (${mib(transient)})`;
        const quota = Math.min(layout.expertCount, Math.floor(forExperts / (layout.expertBytes * layout.layers.length)));
        return new ExpertCache(layout, control, policy, quota, budgetBytes, fileSize);
    }

    /** One evaluation's routing (rows of any layers and positions): pins what the policy keeps, releases what it drops. */
    observe(rows: readonly RoutingRow[]) {
        const sorted = [...rows].sort((a, b) => a.pos - b.pos || a.layer - b.layer);
        const positions = new Set<number>();
        for (const row of sorted) {
            const cache = this.caches[row.layer];
            if (!cache) continue;
            positions.add(row.pos);
            this.uses += row.experts.length;
            this.hits += cache.access(row.experts, row.weights);
        }
        this.tokens += positions.size;
        this.layout.layers.forEach((_, layer) => this.sync(layer));
    }

    stats(): ExpertCacheStats {
        return {
            policy: this.policy, budgetBytes: this.budgetBytes, quotaPerLayer: this.quotaPerLayer, expertCount: this.layout.expertCount,
            pinnedBytes: this.pinnedBytes, hits: this.hits, uses: this.uses, tokens: this.tokens,
            diskBytesPerToken: this.tokens > 0 ? (processReadBytes() - this.readBytesAtStart) / this.tokens : 0,
            pinning: this.pinning, note: this.note
        };
    }

    /** Resident bytes of the pinned experts, measured (mincore), and of all experts. */
    residency(): { experts: number, pinnedExperts: number } {
        let experts = 0, pinnedExperts = 0;
        this.layout.layers.forEach((_, layer) => {
            for (let e = 0; e < this.layout.expertCount; e++) {
                const r = this.control("residency", expertRanges(this.layout, layer, e));
                const bytes = r.bytes ? [...r.bytes].reduce((a, b) => a + b, 0) : 0;
                experts += bytes;
                if (this.pinned[layer]!.has(e)) pinnedExperts += bytes;
            }
        });
        return { experts, pinnedExperts };
    }

    /** Releases every pin (the model is being unloaded). */
    dispose() {
        const all: ByteRange[] = [];
        this.layout.layers.forEach((_, layer) => { for (const e of this.pinned[layer]!) all.push(...expertRanges(this.layout, layer, e)); this.pinned[layer]!.clear(); });
        if (this.pinning === "on") this.control("unlock", all);
    }

    private sync(layer: number) {
        const want = this.caches[layer]!.resident, have = this.pinned[layer]!;
        const released: ByteRange[] = [], added: ByteRange[] = [];
        let releasedCount = 0, addedCount = 0;
        for (const e of have) if (!want.has(e)) { have.delete(e); released.push(...expertRanges(this.layout, layer, e)); releasedCount++; }
        for (const e of want) if (!have.has(e)) { have.add(e); added.push(...expertRanges(this.layout, layer, e)); addedCount++; }
        if (released.length > 0) {
            if (this.pinning === "on") this.control("unlock", released);
            this.control("pageout", released);
            this.pinnedBytes -= releasedCount * this.layout.expertBytes;
        }
        if (added.length > 0) this.lock(added, addedCount * this.layout.expertBytes);
    }

    private lock(ranges: ByteRange[], bytes: number) {
        if (this.pinning === "on") {
            const r = this.control("lock", ranges);
            if (!r.ok) {
                this.pinning = "refused";
                this.note = `pinning refused (${r.error}); the cache now only advises the kernel — raise \`ulimit -l\` to pin`;
            }
        }
        if (this.pinning === "refused") this.control("willneed", ranges);
        this.pinnedBytes += bytes;
    }
}

/** Everything in the file but the expert slices: the weights every token reads. */
function nonExpertRanges(layout: ExpertLayout, fileSize: number): ByteRange[] {
    const experts = layout.layers.flatMap((l) => l.tensors.map((t) => ({ offset: t.fileOffset, length: t.bytesPerExpert * layout.expertCount })))
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
    try { return Number(/read_bytes:\s+(\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0); }
    catch { return 0; }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
