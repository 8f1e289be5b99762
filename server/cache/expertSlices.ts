/**
 * Where each expert lives in a GGUF file. A MoE layer stores its experts stacked in three tensors,
 * `blk.N.ffn_{gate,up,down}_exps.weight`, with ggml dimensions [row length, rows, experts]: expert
 * e is the contiguous run of `rows` rows starting at row e x rows, so its bytes are one slice of
 * each tensor. The expert cache pins, prefetches and drops these slices; everything else in the
 * file (attention, norms, embeddings, router, shared experts) stays resident.
 */
import type { GgufTensorInfo } from "node-llama-cpp";
import type { ByteRange, PrefetchTable } from "../engine/addonTypes";

/** ggml's block geometry of a tensor type: `typeSize` bytes hold `blockSize` elements. */
export type TypeGeometry = (ggmlType: number) => { typeSize: number; blockSize: number } | undefined;

export type ExpertLayout = {
    /** MoE layers, in block order (`blk.N`), each with its N. */
    layers: { block: number; tensors: ExpertTensor[] }[];
    expertCount: number;
    /** Bytes of one expert in one layer (its gate, up and down slices). */
    expertBytes: number;
    /** Bytes of all expert slices in the file, and of everything else (always resident). */
    expertTotal: number;
    residentTotal: number;
};

type ExpertTensor = { name: string; fileOffset: number; bytesPerExpert: number };

const EXPERT_TENSOR = /^blk\.(\d+)\.ffn_(gate|up|down|gate_up)_exps\.weight$/;

/** The expert layout of a model from its tensor table; undefined for a model without expert tensors. */
export function expertLayout(
    tensors: readonly GgufTensorInfo[],
    geometry: TypeGeometry,
    fileSize: number
): ExpertLayout | undefined {
    const byBlock = new Map<number, ExpertTensor[]>();
    let expertCount = 0,
        expertTotal = 0;
    for (const t of tensors) {
        const m = EXPERT_TENSOR.exec(t.name);
        if (!m) continue;
        const [rowLength, rows, experts] = t.dimensions.map(Number) as [number, number, number];
        const g = geometry(t.ggmlType);
        if (!g) throw new Error(`${t.name}: ggml type ${t.ggmlType} is unknown to this llama.cpp`);
        if (rowLength % g.blockSize !== 0)
            throw new Error(`${t.name}: rows of ${rowLength} elements are not whole blocks of ${g.blockSize}`);
        const bytesPerExpert = (rowLength / g.blockSize) * g.typeSize * rows;
        if (expertCount !== 0 && experts !== expertCount)
            throw new Error(`${t.name}: ${experts} experts where other layers have ${expertCount}`);
        expertCount = experts;
        expertTotal += bytesPerExpert * experts;
        const block = Number(m[1]);
        byBlock.set(block, [
            ...(byBlock.get(block) ?? []),
            { name: t.name, fileOffset: Number(t.fileOffset), bytesPerExpert }
        ]);
    }
    if (byBlock.size === 0) return undefined;
    const layers = [...byBlock.entries()].sort((a, b) => a[0] - b[0]).map(([block, ts]) => ({ block, tensors: ts }));
    const expertBytes = layers[0]!.tensors.reduce((a, t) => a + t.bytesPerExpert, 0);
    return { layers, expertCount, expertBytes, expertTotal, residentTotal: fileSize - expertTotal };
}

/** The file ranges of expert `expert` in MoE layer `layer` (an index into `layers`): one per tensor. */
export function expertRanges(layout: ExpertLayout, layer: number, expert: number): ByteRange[] {
    const l = layout.layers[layer];
    if (!l || expert < 0 || expert >= layout.expertCount)
        throw new RangeError(`no expert ${expert} in MoE layer ${layer}`);
    return l.tensors.map((t) => ({ offset: t.fileOffset + expert * t.bytesPerExpert, length: t.bytesPerExpert }));
}

/** `range` widened to whole pages (what mlock, madvise and mincore act on). */
export function pageAligned(range: ByteRange, pageSize: number): ByteRange {
    const start = Math.floor(range.offset / pageSize) * pageSize;
    const end = Math.ceil((range.offset + range.length) / pageSize) * pageSize;
    return { offset: start, length: end - start };
}

/** Every expert slice of the file. */
export function allExpertRanges(layout: ExpertLayout): ByteRange[] {
    return layout.layers.flatMap((_, l) =>
        Array.from({ length: layout.expertCount }, (__, e) => expertRanges(layout, l, e)).flat()
    );
}

/** For the native prefetch hook: each block's experts' file ranges, indexed by block number (zeros for blocks without experts). */
export function prefetchTable(layout: ExpertLayout): PrefetchTable {
    const blocks = Math.max(...layout.layers.map((l) => l.block)) + 1;
    const perExpert = layout.layers[0]!.tensors.length;
    const table = new Float64Array(blocks * layout.expertCount * perExpert * 2);
    layout.layers.forEach((l, layer) => {
        for (let e = 0; e < layout.expertCount; e++)
            expertRanges(layout, layer, e).forEach((r, j) => {
                const at = ((l.block * layout.expertCount + e) * perExpert + j) * 2;
                table[at] = r.offset;
                table[at + 1] = r.length;
            });
    });
    return { blocks, experts: layout.expertCount, table };
}
