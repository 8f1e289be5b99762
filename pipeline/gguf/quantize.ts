/**
 * ggml tensor encodings the pipeline writes: F32 (norms, small tensors), F16, and the two block
 * quantizations the shipped models use. Block layouts follow ggml-common.h exactly:
 *   Q8_0: per 32 values, an f16 scale d then 32 int8 q;          x = q * d
 *   Q4_0: per 32 values, an f16 scale d then 16 bytes of nibbles; x = (q - 8) * d,
 *         low nibbles hold values 0..15 of the block, high nibbles values 16..31.
 */

/** ggml_type numbers as in ggml.h. */
export enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8
}

const QK = 32;

/** Bytes one row of `n` values takes in `type`. */
export function rowBytes(type: GgmlType, n: number): number {
    switch (type) {
        case GgmlType.F32:
            return 4 * n;
        case GgmlType.F16:
            return 2 * n;
        case GgmlType.Q8_0:
            return (n / QK) * (2 + QK);
        case GgmlType.Q4_0:
            return (n / QK) * (2 + QK / 2);
    }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (what ggml's converter does). */
export function toHalf(value: number): number {
    f32Scratch[0] = value;
    const x = u32Scratch[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
    const e = exp - 127 + 15;
    if (e >= 0x1f) return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10) return sign;
        mant |= 0x800000;
        const shift = 14 - e;
        let half = mant >>> shift;
        const rem = mant & ((1 << shift) - 1);
        const mid = 1 << (shift - 1);
        if (rem > mid || (rem === mid && half & 1)) half++;
        return sign | half;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    return sign | half;
}

/** The float a binary16 bit pattern stands for. */
export function fromHalf(h: number): number {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 0x1f) return mant ? NaN : sign * Infinity;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes row-major `data` (rows of `rowLength` values) as `type`. */
export function quantize(data: Float32Array, type: GgmlType, rowLength: number): Buffer {
    if (type === GgmlType.F32) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (type === GgmlType.F16) {
        const out = Buffer.alloc(data.length * 2);
        for (let i = 0; i < data.length; i++) out.writeUInt16LE(toHalf(data[i]!), i * 2);
        return out;
    }
    if (rowLength % QK !== 0) throw new Error(`rows of ${rowLength} values cannot be split into blocks of ${QK}`);
    const blocks = data.length / QK;
    const out = Buffer.alloc(blocks * rowBytes(type, QK));
    let o = 0;
    for (let b = 0; b < blocks; b++) {
        const base = b * QK;
        if (type === GgmlType.Q8_0) {
            let amax = 0;
            for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(data[base + j]!));
            const d = amax / 127;
            const id = d ? 1 / d : 0;
            out.writeUInt16LE(toHalf(d), o);
            o += 2;
            for (let j = 0; j < QK; j++) out.writeInt8(Math.round(data[base + j]! * id), o++);
        } else {
            // Q4_0 keeps the sign of the largest-magnitude value so that it maps to -8 exactly.
            let amax = 0,
                max = 0;
            for (let j = 0; j < QK; j++) {
                const v = data[base + j]!;
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            const d = max / -8;
            const id = d ? 1 / d : 0;
            out.writeUInt16LE(toHalf(d), o);
            o += 2;
            for (let j = 0; j < QK / 2; j++) {
                const lo = Math.min(15, Math.trunc(data[base + j]! * id + 8.5));
                const hi = Math.min(15, Math.trunc(data[base + j + QK / 2]! * id + 8.5));
                out[o++] = lo | (hi << 4);
            }
        }
    }
    return out;
}

/** Decodes what `quantize` wrote (used by tests and by the evaluation to check round trips). */
export function dequantize(buf: Buffer, type: GgmlType, count: number): Float32Array {
    const out = new Float32Array(count);
    if (type === GgmlType.F32) {
        out.set(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + count * 4)));
        return out;
    }
    if (type === GgmlType.F16) {
        for (let i = 0; i < count; i++) out[i] = fromHalf(buf.readUInt16LE(i * 2));
        return out;
    }
    const blockBytes = rowBytes(type, QK);
    for (let b = 0; b < count / QK; b++) {
        const o = b * blockBytes;
        const d = fromHalf(buf.readUInt16LE(o));
        for (let j = 0; j < QK; j++) {
            if (type === GgmlType.Q8_0) out[b * QK + j] = buf.readInt8(o + 2 + j) * d;
            else {
                const byte = buf[o + 2 + (j % (QK / 2))]!;
                const q = j < QK / 2 ? byte & 0xf : byte >> 4;
                out[b * QK + j] = (q - 8) * d;
            }
        }
    }
    return out;
}
