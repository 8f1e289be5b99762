import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import { f32, str, strArray, u32, writeGguf } from "../../pipeline/gguf/GgufWriter";
import { GgmlType, dequantize, fromHalf, quantize, rowBytes, toHalf } from "../../pipeline/gguf/quantize";

const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));

describe("GGUF writer", () => {
    test("half floats round trip exactly where representable, and round to nearest", () => {
        for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5]) assert.equal(fromHalf(toHalf(v)), v);
        assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1, "ties round to even");
        assert.equal(fromHalf(toHalf(1e9)), Infinity);
    });

    // Q4_0 maps the largest-magnitude value to -8 exactly, so the opposite extreme clips to +7: one full step.
    test("Q8_0 keeps values within half a quantization step, Q4_0 within one", () => {
        const data = values(256);
        for (const [type, levels, tolerance] of [
            [GgmlType.Q8_0, 127, 0.51],
            [GgmlType.Q4_0, 8, 1.01]
        ] as const) {
            const buf = quantize(data, type, 32);
            assert.equal(buf.length, rowBytes(type, 256));
            const back = dequantize(buf, type, 256);
            for (let b = 0; b < 8; b++) {
                const block = data.slice(b * 32, b * 32 + 32);
                const step = Math.max(...block.map(Math.abs)) / levels;
                for (let j = 0; j < 32; j++)
                    assert.ok(
                        Math.abs(back[b * 32 + j]! - block[j]!) <= step * tolerance + 1e-3,
                        `type ${type} block ${b}`
                    );
            }
        }
    });

    test("Q4_K keeps values within one step of their sub-block's range, MXFP4 on its E2M1 grid", () => {
        const data = values(512);
        const q4k = dequantize(quantize(data, GgmlType.Q4_K, 256), GgmlType.Q4_K, 512);
        assert.equal(rowBytes(GgmlType.Q4_K, 256), 144);
        for (let s = 0; s < 16; s++) {
            const sub = data.slice(s * 32, s * 32 + 32);
            const step = (Math.max(0, ...sub) - Math.min(0, ...sub)) / 15;
            for (let j = 0; j < 32; j++)
                assert.ok(Math.abs(q4k[s * 32 + j]! - sub[j]!) <= step * 1.1 + 1e-3, `Q4_K sub-block ${s} value ${j}`);
        }
        assert.throws(() => quantize(values(128), GgmlType.Q4_K, 128), /blocks of 256/);

        const buf = quantize(data, GgmlType.MXFP4, 32);
        assert.equal(buf.length, rowBytes(GgmlType.MXFP4, 512));
        assert.equal(rowBytes(GgmlType.MXFP4, 32), 17);
        const mx = dequantize(buf, GgmlType.MXFP4, 512);
        for (let b = 0; b < 16; b++) {
            const block = data.slice(b * 32, b * 32 + 32);
            const top = 2 ** Math.floor(Math.log2(Math.max(...block.map(Math.abs)))); // the grid's largest gap is top / 2
            for (let j = 0; j < 32; j++)
                assert.ok(Math.abs(mx[b * 32 + j]! - block[j]!) <= top / 2 + 1e-6, `MXFP4 block ${b} value ${j}`);
        }
        // A block written by hand: exponent 128 (scale 1), nibbles 7 (12) and 15 (-12), values 0 and 16.
        const hand = Buffer.alloc(17);
        hand[0] = 128;
        hand[1] = 0x07 | (0x0f << 4);
        const decoded = dequantize(hand, GgmlType.MXFP4, 32);
        assert.equal(decoded[0], 12);
        assert.equal(decoded[16], -12);
        assert.equal(decoded[1], 0);
    });

    test("node-llama-cpp reads back the metadata and tensor layout we wrote", async () => {
        const file = path.join(dir, "t.gguf");
        writeGguf(
            file,
            {
                "general.architecture": str("llama"),
                "x.count": u32(7),
                "x.eps": f32(0.5),
                "x.list": strArray(["a", "b"])
            },
            [
                { name: "a.weight", shape: [64, 3], type: GgmlType.Q8_0, data: values(192) },
                { name: "b.weight", shape: [5], type: GgmlType.F32, data: values(5) }
            ]
        );
        const info = await readGgufFileInfo(file, { readTensorInfo: true });
        const md = info.metadata as unknown as { x: { count: number; eps: number; list: string[] } };
        assert.equal(md.x.count, 7);
        assert.equal(md.x.eps, 0.5);
        assert.deepEqual(md.x.list, ["a", "b"]);
        const tensors = info.tensorInfo!;
        assert.deepEqual(
            tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType]),
            [
                ["a.weight", [64, 3], 8],
                ["b.weight", [5], 0]
            ]
        );
        assert.equal(Number(tensors[1]!.offset) % 32, 0, "tensor data is aligned");
        assert.ok(Number(tensors[1]!.offset) >= rowBytes(GgmlType.Q8_0, 64) * 3);
    });
});
