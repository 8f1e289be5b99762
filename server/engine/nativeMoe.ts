/**
 * The native MoE runtime (native/): the expert count and routing trace of one llama.cpp context,
 * through the methods native/patches adds to node-llama-cpp's AddonContext.
 *
 * node-llama-cpp keeps its AddonContext in the internal `_ctx` field of a LlamaContext; with its
 * prebuilt (stock) binaries the methods are absent and `nativeMoe` returns undefined, which is
 * how the engine decides between the native runtime and the fallback (a model instance per count).
 */
import type { Llama, LlamaContext, LlamaOptions } from "node-llama-cpp";
import type {
    AddonMoeBindings,
    AddonMoeMethods,
    ByteRange,
    MemoryControl,
    PrefetchTable,
    RoutingRow,
    RoutingTrace,
    TensorOverride
} from "./addonTypes";
import type { AdaptiveRouting } from "../protocol";

/**
 * Which llama.cpp binaries `getLlama` loads. Never download or compile at run time: the project's
 * native build (native/build.mjs) when it is installed, which node-llama-cpp prefers, else its
 * prebuilt binaries. MOE_PILOT_NATIVE=off asks for the prebuilt (stock) ones, for tests of the
 * fallback and for troubleshooting: a build option no local build was made with makes
 * node-llama-cpp pass over the local build.
 */
export function llamaBinaries(): LlamaOptions {
    return {
        gpu: false,
        build: "never",
        usePrebuiltBinaries: true,
        ...(process.env.MOE_PILOT_NATIVE === "off" ? { cmakeOptions: { MOE_PILOT_STOCK: "ON" } } : {})
    };
}

/** The expert prefetch's counts since it was set (NativeMoeContext.prefetchStats). */
export type PrefetchStats = {
    predicted: number;
    chosen: number;
    layers: { predicted: number; chosen: number; named: number }[];
    /** Bytes of the chosen experts the hook found in the page cache, and handed to the I/O worker to read. */
    residentBytes: number;
    requestedBytes: number;
    /** Chosen experts that had to be read (at their layer, or when predicted), and those of them the prediction started reading a layer early. */
    missedExperts: number;
    readAheadExperts: number;
};

export class NativeMoeContext {
    private tracing = false;
    private adaptive: AdaptiveRouting | undefined;
    /** Rows `peekTrace` has seen that `readTrace` has not yet returned. */
    private held: RoutingTrace = { rows: [], dropped: 0 };

    private constructor(
        private readonly addon: AddonMoeMethods,
        private readonly expertCount: number
    ) {}

    /** Whether the loaded binaries are the project's patched build (node-llama-cpp keeps them in `Llama._bindings`). */
    static isAvailable(llama: Llama): boolean {
        return typeof bindings(llama)?.AddonContext?.prototype?.setMoeExpertCount === "function";
    }

    /** Sets the tensor buffer overrides the next models load with (native/patches/addon/0002); false with stock binaries. */
    static setTensorOverrides(llama: Llama, overrides: TensorOverride[]): boolean {
        const set = bindings(llama)?.setMoeTensorOverrides;
        if (typeof set !== "function") return false;
        set(overrides);
        return true;
    }

    /**
     * Residency control of `path`'s pages in this process (native/patches/addon/0003), for the
     * expert cache; undefined with stock binaries.
     */
    static memoryControl(llama: Llama, path: string): MemoryControl | undefined {
        const control = bindings(llama)?.expertMemoryControl;
        const queue = bindings(llama)?.expertMemoryQueue;
        if (typeof control !== "function" || typeof queue !== "function") return undefined;
        return (op, ranges, when = "now") => {
            const flat = new Float64Array(ranges.flatMap((r) => [r.offset, r.length]));
            return when === "queued" && op !== "residency" ? queue(path, op, flat) : control(path, op, flat);
        };
    }

    /**
     * The disk's read rate for `ranges` of `path` with direct I/O (past the page cache), `readers`
     * reads in flight at once: bytes per second, or why it could not be measured.
     */
    static readBandwidth(llama: Llama, path: string, ranges: readonly ByteRange[], readers: number): number | string {
        const measure = bindings(llama)?.expertReadBandwidth;
        if (typeof measure !== "function") return "this native build cannot measure reads (npm run native)";
        const r = measure(path, new Float64Array(ranges.flatMap((x) => [x.offset, x.length])), readers);
        return "error" in r ? r.error : r.bytes / r.seconds;
    }

    /** ggml's block geometry of a tensor type, from the loaded llama.cpp. */
    static typeGeometry(llama: Llama): (ggmlType: number) => { typeSize: number; blockSize: number } | undefined {
        const b = bindings(llama)!;
        return (t) => {
            const typeSize = b.getTypeSizeForGgmlType(t),
                blockSize = b.getBlockSizeForGgmlType(t);
            return typeSize && blockSize ? { typeSize, blockSize } : undefined;
        };
    }

    /** The runtime's controls on `context`, or undefined when the loaded binaries are stock node-llama-cpp. */
    static of(context: LlamaContext, expertCount: number): NativeMoeContext | undefined {
        const addon = (context as unknown as { _ctx?: Partial<AddonMoeMethods> })._ctx;
        if (!addon || typeof addon.setMoeExpertCount !== "function" || typeof addon.readMoeTrace !== "function")
            return undefined;
        return new NativeMoeContext(addon as AddonMoeMethods, expertCount);
    }

    /** Experts per token from the next evaluation on (0: the model's trained count). Returns the count in effect. */
    setExperts(k: number): number {
        return this.addon.setMoeExpertCount(k);
    }

    get experts(): number {
        return this.addon.getMoeExpertCount();
    }

    /**
     * Adaptive routing: each token keeps the fewest of its top experts (at least `kMin`, at most
     * the context's count) whose renormalised gate mass reaches `p`; `p` = 0 turns it off. The
     * left-out experts get weight 0 and, on the CPU, cost no matrix work.
     */
    setAdaptive(p: number, kMin = 1) {
        this.addon.setMoeAdaptive(p, kMin);
        this.adaptive = p > 0 && p < 1 ? { p, kMin } : undefined;
    }

    /**
     * The expert-count policy's choice: k, and adaptive routing on top of it or off. Returns
     * whether the routing changed (a context's cached prompt was computed with the old one).
     */
    route(choice: { k: number; adaptive?: AdaptiveRouting }): boolean {
        const before = `${this.experts}/${this.adaptive?.p ?? 0}/${this.adaptive?.kMin ?? 1}`;
        this.setExperts(choice.k);
        this.setAdaptive(choice.adaptive?.p ?? 0, choice.adaptive?.kMin ?? 1);
        return before !== `${this.experts}/${this.adaptive?.p ?? 0}/${this.adaptive?.kMin ?? 1}`;
    }

    get isTracing(): boolean {
        return this.tracing;
    }

    /** Turns the routing trace on (keeping at most `capacityRows` unread rows) or off (clearing it). */
    setTrace(enabled: boolean, capacityRows = 1 << 16) {
        this.addon.setMoeTrace(enabled, capacityRows);
        this.tracing = enabled;
        if (!enabled) this.held = { rows: [], dropped: 0 };
    }

    /**
     * Expert prefetch: while on, each evaluation starts reading the pages of a layer's chosen
     * experts that the page cache lacks from `path` the moment the layer has chosen them (the
     * expert cache). Returns true, or why not.
     */
    setPrefetch(
        path: string,
        table: PrefetchTable | undefined,
        predictNextLayer = false,
        minProbability = PREDICT_MIN_PROBABILITY
    ): true | string {
        if (typeof this.addon.setMoePrefetch !== "function")
            return "this native build has no expert prefetch (npm run native)";
        return table
            ? this.addon.setMoePrefetch(
                  path,
                  table.blocks,
                  table.experts,
                  table.table,
                  predictNextLayer,
                  minProbability
              )
            : this.addon.setMoePrefetch(null);
    }

    /**
     * Next-layer prediction since the prefetch was set: of the experts the layers chose (per token,
     * decode batches), how many the previous layer's prediction had started reading already.
     */
    prefetchStats(): PrefetchStats {
        const s = this.addon.getMoePrefetchStats?.();
        if (!s)
            return {
                predicted: 0,
                chosen: 0,
                layers: [],
                residentBytes: 0,
                requestedBytes: 0,
                missedExperts: 0,
                readAheadExperts: 0
            };
        const flat = s.layers ?? new Float64Array();
        const layers = Array.from({ length: flat.length / 3 }, (_, i) => ({
            predicted: flat[i * 3]!,
            chosen: flat[i * 3 + 1]!,
            named: flat[i * 3 + 2]!
        }));
        return {
            predicted: s.predicted,
            chosen: s.chosen,
            layers,
            residentBytes: s.residentBytes ?? 0,
            requestedBytes: s.requestedBytes ?? 0,
            missedExperts: s.missedExperts ?? 0,
            readAheadExperts: s.readAheadExperts ?? 0
        };
    }

    /** Takes every row recorded since the last read (between evaluations). */
    readTrace(): RoutingTrace {
        const fresh = this.drain();
        const held = this.held;
        this.held = { rows: [], dropped: 0 };
        if (held.rows.length === 0 && held.dropped === 0) return fresh;
        for (const row of fresh.rows) held.rows.push(row);
        return { rows: held.rows, dropped: held.dropped + fresh.dropped };
    }

    /**
     * The rows recorded since the last look, left for `readTrace` too: speculative decoding reads
     * the routing between steps without taking it from the routing statistics.
     */
    peekTrace(): RoutingRow[] {
        const fresh = this.drain(256); // a decode step's rows: layers x a few tokens
        for (const row of fresh.rows) this.held.rows.push(row);
        this.held.dropped += fresh.dropped;
        return fresh.rows;
    }

    /** Reads the ring in chunks of `chunkRows` (each read allocates its buffers). */
    private drain(chunkRows = 4096): RoutingTrace {
        const rows: RoutingRow[] = [];
        let dropped = 0;
        const width = this.expertCount;
        for (;;) {
            const chunk = this.addon.readMoeTrace(chunkRows, width);
            dropped += chunk.dropped;
            for (let r = 0; r < chunk.rows; r++) {
                const used = chunk.used[r]!;
                const at = r * width;
                rows.push({
                    layer: chunk.layer[r]!,
                    pos: chunk.pos[r]!,
                    experts: Array.from(chunk.ids.subarray(at, at + used)),
                    weights: Array.from(chunk.weights.subarray(at, at + used))
                });
            }
            if (chunk.rows < chunkRows) return { rows, dropped };
        }
    }
}

/** node-llama-cpp keeps the loaded addon's bindings in `Llama._bindings`. */
function bindings(llama: Llama): AddonMoeBindings | undefined {
    return (llama as unknown as { _bindings?: AddonMoeBindings })._bindings;
}

/**
 * Next-layer prediction reads an expert ahead only when the next router, given this layer's
 * input, gives it at least this probability (softmax over its experts); 0 reads its whole top k.
 * 0.08: of 0, 0.08 and 0.15 tried at bench:cache's 25% budget (one run each, the plan then at 85%
 * of the budget), the fastest (6.13 tokens/s against 6.03 and 5.86) and it read no more than the
 * cache without prediction (73.5 MiB a token against 83.0 for the whole top k).
 */
const PREDICT_MIN_PROBABILITY = 0.08;
