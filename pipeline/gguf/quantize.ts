/**
 * ggml tensor encodings the pipeline writes: F32 (norms, small tensors), F16, the two block
 * quantizations the shipped models use, and the two the registry's published files use for their
 * experts (the architecture replicas). Block layouts follow ggml-common.h exactly:
 *   Q8_0:  per 32 values, an f16 scale d then 32 int8 q;          x = q * d
 *   Q4_0:  per 32 values, an f16 scale d then 16 bytes of nibbles; x = (q - 8) * d,
 *          low nibbles hold values 0..15 of the block, high nibbles values 16..31.
 *   Q4_K:  per 256 values, f16 d and dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of
 *          32, then 128 bytes of nibbles; x = d * sc_j * q - dmin * m_j. Each 64 values share 32
 *          bytes: low nibbles the first sub-block, high nibbles the second.
 *   MXFP4: per 32 values, an E8M0 exponent e then 16 bytes of E2M1 nibbles (Q4_0's order);
 *          x = kvalues[q] * 2^(e - 128), kvalues the doubled E2M1 values.
 * Q4_K is encoded plainly (each sub-block's min and range, not llama.cpp's searched scales): a
 * valid block that llama.cpp reads the same, not byte-identical to `llama-quantize`'s.
 */

/** ggml_type numbers as in ggml.h. */
export enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 8,
    Q4_K = 12,
    MXFP4 = 39
}

const QK = 32;
const QK_K = 256;
const Q4_K_BLOCK = 2 + 2 + 12 + QK_K / 2;
const MXFP4_BLOCK = 1 + QK / 2;
/** ggml's kvalues_mxfp4: E2M1 values, doubled. */
const MXFP4_VALUES = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/** Values per block of `type` (ggml's blck_size). */
export function blockSize(type: GgmlType): number {
    switch (type) {
        case GgmlType.F32:
        case GgmlType.F16:
            return 1;
        case GgmlType.Q4_K:
            return QK_K;
        default:
            return QK;
    }
}

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
        case GgmlType.Q4_K:
            return (n / QK_K) * Q4_K_BLOCK;
        case GgmlType.MXFP4:
            return (n / QK) * MXFP4_BLOCK;
        default:
            throw new Error(`ggml type ${String(type)} is not one this codec reads or writes`);
    }
}

/** 0.5 * 2^(e - 127): ggml_e8m0_to_fp32_half, the scale MXFP4's doubled values are multiplied by. */
function e8m0Half(e: number): number {
    return 2 ** (e - 128);
}

function encodeMxfp4Block(data: Float32Array, base: number, out: Buffer, o: number) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(data[base + j]!));
    // As quantize_row_mxfp4_ref: the largest value lands near the top of the E2M1 range.
    const e = amax > 0 ? Math.floor(Math.log2(amax)) - 2 + 127 : 0;
    const d = e8m0Half(e);
    const nearest = (x: number) => {
        let best = 0;
        for (let i = 1; i < 16; i++)
            if (Math.abs(MXFP4_VALUES[i]! * d - x) < Math.abs(MXFP4_VALUES[best]! * d - x)) best = i;
        return best;
    };
    out[o] = e;
    for (let j = 0; j < QK / 2; j++)
        out[o + 1 + j] = nearest(data[base + j]!) | (nearest(data[base + j + QK / 2]!) << 4);
}

function encodeQ4KBlock(data: Float32Array, base: number, out: Buffer, o: number) {
    const scales: number[] = [],
        mins: number[] = [];
    for (let s = 0; s < 8; s++) {
        let lo = 0,
            hi = 0;
        for (let j = 0; j < QK; j++) {
            const v = data[base + s * QK + j]!;
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        scales.push((hi - lo) / 15);
        mins.push(-lo);
    }
    const d = fromHalf(toHalf(Math.max(...scales) / 63)),
        dmin = fromHalf(toHalf(Math.max(...mins) / 63));
    const sc = scales.map((v) => (d ? Math.min(63, Math.round(v / d)) : 0));
    const m = mins.map((v) => (dmin ? Math.min(63, Math.round(v / dmin)) : 0));
    out.writeUInt16LE(toHalf(d), o);
    out.writeUInt16LE(toHalf(dmin), o + 2);
    // The inverse of ggml's get_scale_min_k4: sub-blocks 0..3 in the low 6 bits of bytes 0..7,
    // sub-blocks 4..7 as nibbles in bytes 8..11 with their top 2 bits above the first ones.
    const packed = out.subarray(o + 4, o + 16);
    for (let j = 0; j < 4; j++) {
        packed[j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
        packed[j + 4] = m[j]! | ((m[j + 4]! >> 4) << 6);
        packed[j + 8] = (sc[j + 4]! & 0xf) | ((m[j + 4]! & 0xf) << 4);
    }
    const q = (s: number, j: number) => {
        const step = d * sc[s]!;
        const v = step ? Math.round((data[base + s * QK + j]! + dmin * m[s]!) / step) : 0;
        return Math.max(0, Math.min(15, v));
    };
    for (let c = 0; c < 4; c++)
        for (let l = 0; l < QK; l++) out[o + 16 + c * QK + l] = q(2 * c, l) | (q(2 * c + 1, l) << 4);
}

function decodeQ4KBlock(buf: Buffer, o: number, out: Float32Array, base: number) {
    const d = fromHalf(buf.readUInt16LE(o)),
        dmin = fromHalf(buf.readUInt16LE(o + 2));
    const packed = buf.subarray(o + 4, o + 16);
    const scaleMin = (j: number): [number, number] =>
        j < 4
            ? [packed[j]! & 63, packed[j + 4]! & 63]
            : [(packed[j + 4]! & 0xf) | ((packed[j - 4]! >> 6) << 4), (packed[j + 4]! >> 4) | ((packed[j]! >> 6) << 4)];
    for (let c = 0; c < 4; c++) {
        const [sc1, m1] = scaleMin(2 * c),
            [sc2, m2] = scaleMin(2 * c + 1);
        for (let l = 0; l < QK; l++) {
            const byte = buf[o + 16 + c * QK + l]!;
            out[base + 2 * c * QK + l] = d * sc1 * (byte & 0xf) - dmin * m1;
            out[base + (2 * c + 1) * QK + l] = d * sc2 * (byte >> 4) - dmin * m2;
        }
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
    const block = blockSize(type);
    if (rowLength % block !== 0) throw new Error(`rows of ${rowLength} values cannot be split into blocks of ${block}`);
    if (type === GgmlType.Q4_K || type === GgmlType.MXFP4) {
        const bytes = rowBytes(type, block);
        const out = Buffer.alloc((data.length / block) * bytes);
        const encode = type === GgmlType.Q4_K ? encodeQ4KBlock : encodeMxfp4Block;
        for (let b = 0; b < data.length / block; b++) encode(data, b * block, out, b * bytes);
        return out;
    }
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
    if (type === GgmlType.Q4_K) {
        for (let b = 0; b < count / QK_K; b++) decodeQ4KBlock(buf, b * Q4_K_BLOCK, out, b * QK_K);
        return out;
    }
    if (type === GgmlType.MXFP4) {
        for (let b = 0; b < count / QK; b++) {
            const o = b * MXFP4_BLOCK,
                d = e8m0Half(buf[o]!);
            for (let j = 0; j < QK / 2; j++) {
                out[b * QK + j] = MXFP4_VALUES[buf[o + 1 + j]! & 0xf]! * d;
                out[b * QK + j + QK / 2] = MXFP4_VALUES[buf[o + 1 + j]! >> 4]! * d;
            }
        }
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
