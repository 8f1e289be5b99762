/**
 * The project's own GGUF writer (format version 3), used by the model pipeline to export the
 * test model, the trained embedded model and the synthetic benchmark MoEs.
 *
 * Reading GGUF is a solved problem (node-llama-cpp's `readGgufFileInfo`); writing is not offered
 * by any well-kept npm package, and it is small: a header, typed key/value metadata, tensor
 * descriptors and aligned tensor data.
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { type GgmlType, quantize, rowBytes } from "./quantize";

/** GGUF metadata value types, numbered as in the spec. */
export enum GgufValueType {
    Uint8 = 0,
    Int8 = 1,
    Uint16 = 2,
    Int16 = 3,
    Uint32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    Uint64 = 10,
    Int64 = 11,
    Float64 = 12
}

export type GgufValue =
    | { type: GgufValueType.String; value: string }
    | { type: GgufValueType.Bool; value: boolean }
    | { type: GgufValueType.Uint32 | GgufValueType.Int32 | GgufValueType.Float32 | GgufValueType.Uint64; value: number }
    | { type: GgufValueType.Array; itemType: GgufValueType.String; value: readonly string[] }
    | {
          type: GgufValueType.Array;
          itemType: GgufValueType.Int32 | GgufValueType.Float32 | GgufValueType.Uint32;
          value: ArrayLike<number>;
      };

export const u32 = (value: number): GgufValue => ({ type: GgufValueType.Uint32, value });
export const f32 = (value: number): GgufValue => ({ type: GgufValueType.Float32, value });
export const str = (value: string): GgufValue => ({ type: GgufValueType.String, value });
export const bool = (value: boolean): GgufValue => ({ type: GgufValueType.Bool, value });
export const strArray = (value: readonly string[]): GgufValue => ({
    type: GgufValueType.Array,
    itemType: GgufValueType.String,
    value
});
export const i32Array = (value: ArrayLike<number>): GgufValue => ({
    type: GgufValueType.Array,
    itemType: GgufValueType.Int32,
    value
});

export const f32Array = (value: ArrayLike<number>): GgufValue => ({
    type: GgufValueType.Array,
    itemType: GgufValueType.Float32,
    value
});

export type GgufTensor = {
    name: string;
    /** ggml order: the fastest-varying dimension first (a [rows][cols] matrix is `[cols, rows]`). */
    shape: readonly number[];
    type: GgmlType;
    /**
     * Row-major float data, `shape` product long; quantized while writing. A function is called
     * when the tensor is written, so a model larger than memory is made one tensor at a time.
     */
    data: Float32Array | (() => Float32Array);
};

const ALIGNMENT = 32;

class ByteSink {
    private chunks: Buffer[] = [];
    length = 0;

    push(buf: Buffer) {
        this.chunks.push(buf);
        this.length += buf.length;
    }
    u32(v: number) {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(v);
        this.push(b);
    }
    i32(v: number) {
        const b = Buffer.alloc(4);
        b.writeInt32LE(v);
        this.push(b);
    }
    u64(v: number) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(v));
        this.push(b);
    }
    f32(v: number) {
        const b = Buffer.alloc(4);
        b.writeFloatLE(v);
        this.push(b);
    }
    string(s: string) {
        const b = Buffer.from(s, "utf8");
        this.u64(b.length);
        this.push(b);
    }
    padTo(alignment: number) {
        const pad = (alignment - (this.length % alignment)) % alignment;
        if (pad > 0) this.push(Buffer.alloc(pad));
    }
    concat() {
        return Buffer.concat(this.chunks);
    }
}

function writeScalar(sink: ByteSink, type: GgufValueType, value: number | string | boolean) {
    switch (type) {
        case GgufValueType.String:
            sink.string(value as string);
            break;
        case GgufValueType.Bool:
            sink.push(Buffer.from([value ? 1 : 0]));
            break;
        case GgufValueType.Uint32:
            sink.u32(value as number);
            break;
        case GgufValueType.Int32:
            sink.i32(value as number);
            break;
        case GgufValueType.Float32:
            sink.f32(value as number);
            break;
        case GgufValueType.Uint64:
            sink.u64(value as number);
            break;
        default:
            throw new Error(`GGUF value type ${type} is not supported by this writer`);
    }
}

/** Writes a complete GGUF v3 file. Tensors are quantized to their `type` on the way out. */
export function writeGguf(path: string, metadata: Record<string, GgufValue>, tensors: readonly GgufTensor[]) {
    const head = new ByteSink();
    head.push(Buffer.from("GGUF", "ascii"));
    head.u32(3);
    head.u64(tensors.length);
    head.u64(Object.keys(metadata).length);

    for (const [key, v] of Object.entries(metadata)) {
        head.string(key);
        head.u32(v.type);
        if (v.type === GgufValueType.Array) {
            head.u32(v.itemType);
            head.u64(v.value.length);
            for (let i = 0; i < v.value.length; i++) writeScalar(head, v.itemType, v.value[i]!);
        } else writeScalar(head, v.type, v.value);
    }

    const sizes = tensors.map((t) => {
        const elements = t.shape.reduce((a, b) => a * b, 1);
        return { elements, bytes: rowBytes(t.type, t.shape[0]!) * (elements / t.shape[0]!) };
    });

    let offset = 0;
    tensors.forEach((t, i) => {
        head.string(t.name);
        head.u32(t.shape.length);
        for (const d of t.shape) head.u64(d);
        head.u32(t.type);
        head.u64(offset);
        offset += Math.ceil(sizes[i]!.bytes / ALIGNMENT) * ALIGNMENT;
    });
    head.padTo(ALIGNMENT);

    const fd = openSync(path, "w");
    try {
        writeSync(fd, head.concat());
        tensors.forEach((t, i) => {
            const data = typeof t.data === "function" ? t.data() : t.data;
            if (data.length !== sizes[i]!.elements)
                throw new Error(
                    `tensor ${t.name}: shape ${t.shape.join("x")} needs ${sizes[i]!.elements} values, got ${data.length}`
                );
            const buf = quantize(data, t.type, t.shape[0]!);
            if (buf.length !== sizes[i]!.bytes) throw new Error(`tensor ${t.name}: encoded size mismatch`);
            writeSync(fd, buf);
            const pad = (ALIGNMENT - (buf.length % ALIGNMENT)) % ALIGNMENT;
            if (pad > 0) writeSync(fd, Buffer.alloc(pad));
        });
    } finally {
        closeSync(fd);
    }
}
