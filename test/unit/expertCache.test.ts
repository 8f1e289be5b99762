import assert from "node:assert/strict";
import { statSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import { expertLayout, expertRanges, pageAligned, type TypeGeometry } from "../../server/cache/expertSlices";
import { beladyHits, layerCache, type PolicyName } from "../../server/cache/policies";

const EMBEDDED = path.resolve(import.meta.dirname, "..", "..", "models", "embedded", "moe-pilot-demo.gguf");
/** ggml's geometry of the types the project's models use (F32, F16, Q8_0). */
const GEOMETRY: TypeGeometry = (t) =>
    ({ 0: { typeSize: 4, blockSize: 1 }, 1: { typeSize: 2, blockSize: 1 }, 8: { typeSize: 34, blockSize: 32 } })[t];

const run = (policy: PolicyName, capacity: number, seq: number[][], weights?: number[][]) => {
    const c = layerCache(policy, capacity);
    return seq.map((xs, i) => c.access(xs, weights?.[i] ?? xs.map(() => 1 / xs.length)));
};

describe("expert slices in the GGUF file", () => {
    test("the embedded model: each layer's experts tile its expert tensors, which end where the file's next tensor begins", async () => {
        const info = await readGgufFileInfo(EMBEDDED, { readTensorInfo: true });
        const tensors = info.fullTensorInfo!;
        const size = statSync(EMBEDDED).size;
        const layout = expertLayout(tensors, GEOMETRY, size)!;
        assert.equal(layout.layers.length, 4);
        assert.equal(layout.expertCount, 8);
        const byOffset = [...tensors].sort((a, b) => Number(a.fileOffset) - Number(b.fileOffset));
        for (let l = 0; l < layout.layers.length; l++) {
            for (let e = 0; e < layout.expertCount; e++) {
                const ranges = expertRanges(layout, l, e);
                assert.equal(ranges.length, 3, "gate, up, down");
                ranges.forEach((r, i) => {
                    const t = layout.layers[l]!.tensors[i]!;
                    assert.equal(r.offset, t.fileOffset + e * t.bytesPerExpert);
                });
            }
            for (const t of layout.layers[l]!.tensors) {
                const end = t.fileOffset + layout.expertCount * t.bytesPerExpert;
                const next = byOffset.find((x) => Number(x.fileOffset) > t.fileOffset);
                const bound = next ? Number(next.fileOffset) : size;
                // the last expert ends at the next tensor, up to GGUF's 32-byte alignment
                assert.ok(
                    end <= bound && bound - end < 32,
                    `${t.name}: experts end at ${end}, the next tensor starts at ${bound}`
                );
            }
        }
        assert.equal(
            layout.expertBytes,
            layout.layers[0]!.tensors.reduce((a, t) => a + t.bytesPerExpert, 0)
        );
        assert.ok(layout.residentTotal > 0 && layout.expertTotal + layout.residentTotal === size);
    });

    test("an unknown expert, an unknown type and partial blocks are refused", async () => {
        const info = await readGgufFileInfo(EMBEDDED, { readTensorInfo: true });
        const layout = expertLayout(info.fullTensorInfo!, GEOMETRY, 1e9)!;
        assert.throws(() => expertRanges(layout, 0, 8), /no expert 8/);
        assert.throws(() => expertRanges(layout, 9, 0), /no expert 0 in MoE layer 9/);
        assert.throws(() => expertLayout(info.fullTensorInfo!, () => undefined, 1e9), /ggml type 8 is unknown/);
        assert.equal(
            expertLayout(
                info.fullTensorInfo!.filter((t) => !t.name.includes("_exps")),
                GEOMETRY,
                1e9
            ),
            undefined
        );
    });

    test("page alignment widens a range to whole pages", () => {
        assert.deepEqual(pageAligned({ offset: 5000, length: 100 }, 4096), { offset: 4096, length: 4096 });
        assert.deepEqual(pageAligned({ offset: 4096, length: 8192 }, 4096), { offset: 4096, length: 8192 });
        assert.deepEqual(pageAligned({ offset: 4000, length: 200 }, 4096), { offset: 0, length: 8192 });
    });
});

describe("expert cache policies", () => {
    test("LRU evicts the expert used least recently", () => {
        assert.deepEqual(run("lru", 2, [[0], [1], [0], [2], [0], [1]]), [0, 0, 1, 0, 1, 0]);
    });

    test("LFU evicts the expert used least often", () => {
        assert.deepEqual(run("lfu", 2, [[0], [0], [1], [2], [0], [1]]), [0, 1, 0, 0, 1, 0]);
    });

    test("score: a heavily weighted expert outlives a lightly weighted one used as recently", () => {
        // 0 and 1 used together, 0 with most of the gate mass; then 2 arrives: 1 goes
        assert.deepEqual(run("score", 2, [[0, 1], [2], [0], [1]], [[0.9, 0.1], [1], [1], [1]]), [0, 0, 1, 0]);
        // LRU cannot tell them apart and evicts by order of use
        assert.deepEqual(run("lru", 2, [[0, 1], [2], [0], [1]]), [0, 0, 0, 0]);
    });

    test("an expert the token needs is never evicted for another of its experts", () => {
        const c = layerCache("lru", 2);
        c.access([0, 1], [0.5, 0.5]);
        assert.equal(c.access([2, 3], [0.5, 0.5]), 0);
        assert.equal(c.resident.size, 2);
    });

    test("Belady's optimal is an upper bound for every policy", () => {
        let seed = 3;
        const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        for (let trial = 0; trial < 20; trial++) {
            const seq = Array.from({ length: 200 }, () => {
                const a = Math.floor(rand() ** 2 * 16);
                let b = Math.floor(rand() * 16);
                if (b === a) b = (b + 1) % 16;
                return [a, b];
            });
            for (const capacity of [2, 4, 8]) {
                const best = beladyHits(seq, capacity);
                for (const p of ["lru", "lfu", "score"] as const) {
                    const hits = run(p, capacity, seq).reduce((x, y) => x + y, 0);
                    assert.ok(hits <= best, `${p} at ${capacity}: ${hits} hits, Belady ${best}`);
                }
            }
        }
        assert.equal(
            beladyHits([[0], [1], [2], [0], [1]], 2),
            1,
            "keeps 0 (needed sooner than 1 and 2)... one of them"
        );
    });
});
