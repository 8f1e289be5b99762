/**
 * Reads tensors out of a GGUF file into Float32Arrays, outside llama.cpp: tensor offsets from
 * node-llama-cpp's GGUF reader, the bytes from the file, dequantized here (F32, F16, Q8_0: what
 * the project's models use). For tests that check llama.cpp's arithmetic against an independent one.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { type GgufTensorInfo, readGgufFileInfo } from "node-llama-cpp";

const F32 = 0,
    F16 = 1,
    Q8_0 = 8;

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
        const rowBytes = bytesPerRow(t.ggmlType, rowLength);
        const buf = Buffer.alloc(rowBytes * n);
        const fd = openSync(this.file, "r");
        try {
            readSync(fd, buf, 0, buf.length, Number(t.fileOffset) + rowBytes * first);
        } finally {
            closeSync(fd);
        }
        const out = new Float32Array(rowLength * n);
        for (let r = 0; r < n; r++)
            dequantizeRow(
                t.ggmlType,
                buf.subarray(r * rowBytes, (r + 1) * rowBytes),
                out.subarray(r * rowLength, (r + 1) * rowLength)
            );
        return out;
    }

    private info(name: string): GgufTensorInfo {
        const t = this.tensors.get(name);
        if (!t) throw new Error(`no tensor ${name}`);
        return t;
    }
}

function bytesPerRow(type: number, n: number): number {
    switch (type) {
        case F32:
            return 4 * n;
        case F16:
            return 2 * n;
        case Q8_0:
            return (n / 32) * 34; // blocks of 32: an f16 scale and 32 int8
        default:
            throw new Error(`ggml type ${type} is not read by this test helper`);
    }
}

function dequantizeRow(type: number, src: Buffer, dst: Float32Array) {
    if (type === F32) {
        for (let i = 0; i < dst.length; i++) dst[i] = src.readFloatLE(4 * i);
        return;
    }
    if (type === F16) {
        for (let i = 0; i < dst.length; i++) dst[i] = halfToFloat(src.readUInt16LE(2 * i));
        return;
    }
    for (let b = 0; b < dst.length / 32; b++) {
        const d = halfToFloat(src.readUInt16LE(34 * b));
        for (let i = 0; i < 32; i++) dst[32 * b + i] = d * src.readInt8(34 * b + 2 + i);
    }
}

function halfToFloat(h: number): number {
    const sign = h & 0x8000 ? -1 : 1,
        exp = (h >> 10) & 0x1f,
        frac = h & 0x3ff;
    if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
    if (exp === 31) return frac ? NaN : sign * Infinity;
    return sign * 2 ** (exp - 15) * (1 + frac / 1024);
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
