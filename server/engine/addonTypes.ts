/**
 * The native MoE runtime's boundary (native/patches/addon): what the patched node-llama-cpp addon
 * adds, and the shapes that cross it. A leaf: it imports nothing, and the engine, the expert cache
 * and the routing statistics all import it (as node-llama-cpp's own AddonTypes.ts).
 */

/** One token's routing at one MoE layer. */
export type RoutingRow = {
    layer: number;
    /** The token's position in its sequence. */
    pos: number;
    /** Expert ids, in routing order (highest gate first). */
    experts: number[];
    /** Their weights as applied to the expert outputs. */
    weights: number[];
};

export type RoutingTrace = {
    rows: RoutingRow[];
    /** Rows lost because the ring was full since the last read. */
    dropped: number;
};

/** For expert prefetch: per block and expert, the same number of [offset, length] file ranges. */
export type PrefetchTable = { blocks: number; experts: number; table: Float64Array };

/** A byte range of the model file. */
export type ByteRange = { offset: number; length: number };

/** Residency operations on llama.cpp's mapping of the model file (native/patches/addon/0003). */
type MemoryOp = "lock" | "unlock" | "willneed" | "pageout" | "random" | "residency";
/**
 * `now`: done before it returns (residency: the bytes). `queued`: done later on the addon's I/O
 * worker, off the compute lane; the answer carries the first error of earlier queued operations.
 */
export type MemoryControl = (
    op: MemoryOp,
    ranges: readonly ByteRange[],
    when?: "now" | "queued"
) => { ok: boolean; error?: string; bytes?: Float64Array };

/** A tensor buffer override: tensors whose name matches `pattern` go to `buffer` (llama.cpp's -ot). */
export type TensorOverride = { pattern: string; buffer: string };

/** The methods the patches add to an AddonContext (one llama.cpp context). */
export type AddonMoeMethods = {
    setMoeExpertCount(k: number): number;
    getMoeExpertCount(): number;
    setMoeTrace(enabled: boolean, capacityRows: number): void;
    setMoeAdaptive(p: number, kMin: number): void;
    readMoeTrace(
        maxRows: number,
        width: number
    ): {
        rows: number;
        dropped: number;
        layer: Int32Array;
        pos: Int32Array;
        used: Int32Array;
        ids: Int32Array;
        weights: Float32Array;
    };
    /** native/patches/addon/0003; true, or why not. */
    setMoePrefetch?(
        path: string | null,
        blocks?: number,
        experts?: number,
        table?: Float64Array,
        predict?: boolean,
        minProbability?: number
    ): true | string;
    getMoePrefetchStats?(): {
        predicted: number;
        chosen: number;
        layers?: Float64Array;
        residentBytes?: number;
        requestedBytes?: number;
        missedExperts?: number;
        readAheadExperts?: number;
    };
};

/** What the patches add to the addon's bindings (process-wide). */
export type AddonMoeBindings = {
    AddonContext?: { prototype?: Partial<AddonMoeMethods> };
    setMoeTensorOverrides?: (overrides: TensorOverride[]) => void;
    expertMemoryControl?: (
        path: string,
        op: string,
        ranges: Float64Array
    ) => { ok: boolean; error?: string; bytes?: Float64Array };
    expertMemoryQueue?: (path: string, op: string, ranges: Float64Array) => { ok: boolean; error?: string };
    expertReadBandwidth?: (
        path: string,
        ranges: Float64Array,
        readers: number
    ) => { bytes: number; seconds: number } | { error: string };
    getTypeSizeForGgmlType(ggmlType: number): number | undefined;
    getBlockSizeForGgmlType(ggmlType: number): number | undefined;
};
