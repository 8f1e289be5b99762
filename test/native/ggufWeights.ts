/**
 * Reads tensors out of a GGUF file into Float32Arrays, outside llama.cpp: tensor offsets from
 * node-llama-cpp's GGUF reader, the bytes from the file, dequantized by the pipeline's own codec
 * (F32, F16, Q8_0, Q4_0, Q4_K, MXFP4: what the project's models and the architecture replicas
 * use). For tests that check llama.cpp's arithmetic against an independent one.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { type GgufTensorInfo, readGgufFileInfo } from "node-llama-cpp";
import { dequantize, type GgmlType, rowBytes } from "../../pipeline/gguf/quantize";

export class GgufWeights {
    private constructor(
        private readonly file: string,
        private readonly tensors: Map<string, GgufTensorInfo>,
        readonly metadata: Record<string, unknown>
    ) {}

    static async open(file: string): Promise<GgufWeights> {
        const info = await readGgufFileInfo(file, { readTensorInfo: true });
        return new GgufWeights(
            file,
            new Map(info.fullTensorInfo!.map((t) => [t.name, t])),
            info.architectureMetadata as Record<string, unknown>
        );
    }

    /** `name`'s dimensions (ggml order: the first is the row length). */
    shape(name: string): number[] {
        return this.info(name).dimensions.map(Number);
    }

    /** Where `name`'s data starts in the file (bytes). */
    offset(name: string): number {
        return Number(this.info(name).fileOffset);
    }

    /** Rows `first`..`first + count` of `name` (all rows by default), dequantized. */
    rows(name: string, first = 0, count?: number): Float32Array {
        const t = this.info(name);
        const [rowLength, ...rest] = t.dimensions.map(Number) as [number, ...number[]];
        const totalRows = rest.reduce((a, b) => a * b, 1);
        const n = count ?? totalRows - first;
        const type = t.ggmlType as number as GgmlType;
        const bytes = rowBytes(type, rowLength);
        const buf = Buffer.alloc(bytes * n);
        const fd = openSync(this.file, "r");
        try {
            readSync(fd, buf, 0, buf.length, Number(t.fileOffset) + bytes * first);
        } finally {
            closeSync(fd);
        }
        return dequantize(buf, type, rowLength * n);
    }

    private info(name: string): GgufTensorInfo {
        const t = this.tensors.get(name);
        if (!t) throw new Error(`no tensor ${name}`);
        return t;
    }
}

/** y = W x for W stored as `rows` rows of `x.length` (ggml's layout for a [in, out] weight). */
export function matVec(w: Float32Array, x: Float32Array): Float32Array {
    const n = x.length,
        out = new Float32Array(w.length / n);
    for (let r = 0; r < out.length; r++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += w[r * n + i]! * x[i]!;
        out[r] = s;
    }
    return out;
}

export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number): Float32Array {
    let ss = 0;
    for (const v of x) ss += v * v;
    const scale = 1 / Math.sqrt(ss / x.length + eps);
    return x.map((v, i) => v * scale * weight[i]!);
}
