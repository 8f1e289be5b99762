/**
 * The native MoE runtime (native/) on the embedded model, against stock llama.cpp:
 * - the same prompt at k = 1, 2 (trained), 8 (all) and 1 again, switched between requests on ONE
 *   context of the patched build, gives the logits the stock binaries give with a model loaded
 *   at that k through `metadataOverrides`;
 * - the routing trace has a row per token and MoE layer, and its first row agrees with layer 0's
 *   router applied, here in TypeScript, to the first token's hidden state computed from the
 *   GGUF's own weights;
 * - adaptive routing gives the stock logits at k when it keeps every expert and at k_min when it
 *   keeps the fewest, and really skips the left-out experts: one made NaN costs nothing.
 * Each side runs in a child process (probe.ts): a process loads one kind of llama.cpp binaries.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { before, describe, test } from "node:test";
import type { RoutingTrace } from "../../server/engine/addonTypes";
import { GgufWeights, matVec, rmsNorm } from "./ggufWeights";
import { withoutNativeBuild } from "../nativeBuild";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const MODEL = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");
const PROMPT = "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n";
const COUNTS = [2, 1, 8, 1];

type Probe = {
    buildType: string;
    native: boolean;
    tokens: number[];
    experts: number[];
    results: { k: number; logits: number[][] }[];
    trace?: RoutingTrace;
    adaptive?: { highP: number[][]; lowP: number[][]; lowPMin2: number[][]; midUsed: number[] };
};

/**
 * The native build or stock (`mode`), flash attention off unless `flash`: the native build's
 * flash-attention kernel (native/patches/llama.cpp/0004) accumulates in FP32 where stock rounds to
 * FP16 at every KV position, so the MoE runtime is compared with attention the same in both.
 */
function probe(mode: "on" | "off", flash = false): Probe {
    const out = execFileSync(
        process.execPath,
        ["--import", "tsx", path.join(import.meta.dirname, "probe.ts"), MODEL, COUNTS.join(","), PROMPT],
        {
            cwd: ROOT,
            env: { ...process.env, MOE_PILOT_NATIVE: mode, MOE_PILOT_FLASH_ATTENTION: flash ? "on" : "off" },
            encoding: "utf8",
            maxBuffer: 64 << 20
        }
    );
    return JSON.parse(out) as Probe;
}

describe("native MoE runtime", { skip: withoutNativeBuild }, () => {
    let native: Probe, stock: Probe;
    before(() => {
        native = probe("on");
        stock = probe("off");
    });

    test("the patched build is installed and loaded (npm install builds it; `npm run native` again)", () => {
        assert.equal(native.buildType, "localBuild");
        assert.equal(
            native.native,
            true,
            "llama.cpp loaded, but without the MoE methods: the build is not the patched one"
        );
        assert.equal(stock.buildType, "prebuilt");
        assert.equal(stock.native, false);
    });

    test("per-context expert count: the stock build's logits at every k, switched on one context", () => {
        assert.deepEqual(native.experts, COUNTS, "each count took effect");
        for (let i = 0; i < COUNTS.length; i++) {
            const a = native.results[i]!,
                b = stock.results[i]!;
            assert.equal(a.logits.length, 4);
            let maxDiff = 0;
            for (let p = 0; p < a.logits.length; p++)
                for (let t = 0; t < a.logits[p]!.length; t++)
                    maxDiff = Math.max(maxDiff, Math.abs(a.logits[p]![t]! - b.logits[p]![t]!));
            assert.ok(maxDiff < 1e-3, `k=${a.k}: logits differ from the stock build by up to ${maxDiff}`);
        }
        // and the counts really differ from each other (the comparison above is not vacuous)
        const diff = (x: number[], y: number[]) => Math.max(...x.map((v, j) => Math.abs(v - y[j]!)));
        assert.ok(
            diff(native.results[0]!.logits[3]!, native.results[1]!.logits[3]!) > 1e-2,
            "k=2 and k=1 give different logits"
        );
        assert.ok(
            diff(native.results[0]!.logits[3]!, native.results[2]!.logits[3]!) > 1e-2,
            "k=2 and k=8 give different logits"
        );
    });

    test("flash attention by blocks of KV positions (0004): the logits of attention without it, at every k", () => {
        // The server runs with flash attention (llama.cpp's `auto`); the kernel is ours. Without flash
        // attention llama.cpp rounds the softmax weights to FP16 before multiplying V, and the stock
        // kernel rounds its accumulator to FP16 at every position (at k=1 here: 5.8 off), so the
        // reference is only that close.
        const flash = probe("on", true);
        for (let i = 0; i < COUNTS.length; i++) {
            const a = flash.results[i]!.logits,
                b = native.results[i]!.logits;
            const diff = Math.max(...a.flatMap((row, p) => row.map((v, t) => Math.abs(v - b[p]![t]!))));
            const scale = Math.max(...b.flat().map(Math.abs));
            assert.ok(
                diff < 0.02 * scale,
                `k=${COUNTS[i]}: ${diff} from attention without flash (largest logit ${scale})`
            );
        }
    });

    test("routing trace: a row per token and MoE layer, weights as applied", () => {
        const trace = native.trace!;
        assert.equal(trace.dropped, 0);
        const n = native.tokens.length;
        for (const layer of [0, 1, 2]) {
            const rows = trace.rows.filter((r) => r.layer === layer);
            assert.deepEqual(
                rows.map((r) => r.pos),
                [...Array(n).keys()],
                `layer ${layer}: every position once, in order`
            );
        }
        // the last layer runs only for the positions whose logits are wanted
        assert.deepEqual(
            trace.rows.filter((r) => r.layer === 3).map((r) => r.pos),
            [n - 4, n - 3, n - 2, n - 1]
        );
        for (const row of trace.rows) {
            assert.equal(row.experts.length, 2, "the trained k=2");
            assert.equal(new Set(row.experts).size, 2);
            assert.ok(row.experts.every((e) => e >= 0 && e < 8));
            assert.ok(
                Math.abs(row.weights[0]! + row.weights[1]! - 1) < 1e-5,
                "qwen3moe renormalises the chosen experts' weights"
            );
            assert.ok(row.weights[0]! >= row.weights[1]!, "routing order: highest gate first");
        }
    });

    test("routing trace agrees with layer 0's router applied outside llama.cpp to the first token", async () => {
        const w = await GgufWeights.open(MODEL);
        const attention = w.metadata.attention as {
            head_count: number;
            head_count_kv: number;
            value_length: number;
            layer_norm_rms_epsilon: number;
        };
        const eps = attention.layer_norm_rms_epsilon;
        const headDim = attention.value_length,
            perKv = attention.head_count / attention.head_count_kv;

        // layer 0 at position 0: attention over one position is that position's value
        const x = w.rows("token_embd.weight", native.tokens[0]!, 1);
        const v = matVec(w.rows("blk.0.attn_v.weight"), rmsNorm(x, w.rows("blk.0.attn_norm.weight"), eps));
        const heads = new Float32Array(attention.head_count * headDim);
        for (let h = 0; h < attention.head_count; h++)
            heads.set(v.subarray(Math.floor(h / perKv) * headDim, (Math.floor(h / perKv) + 1) * headDim), h * headDim);
        const residual = x.map((xi, i) => xi + matVec(w.rows("blk.0.attn_output.weight"), heads)[i]!);
        const logits = matVec(
            w.rows("blk.0.ffn_gate_inp.weight"),
            rmsNorm(residual, w.rows("blk.0.ffn_norm.weight"), eps)
        );
        const max = Math.max(...logits);
        const probs = [...logits].map((l) => Math.exp(l - max));
        const order = probs.map((p, e) => [p, e] as const).sort((a, b) => b[0] - a[0]);
        const top = order.slice(0, 2),
            mass = top[0]![0] + top[1]![0];

        const row = native.trace!.rows.find((r) => r.layer === 0 && r.pos === 0)!;
        assert.deepEqual(
            row.experts,
            top.map(([, e]) => e),
            `router logits ${[...logits].map((l) => l.toFixed(3)).join(" ")}`
        );
        for (let j = 0; j < 2; j++)
            assert.ok(
                Math.abs(row.weights[j]! - top[j]![0] / mass) < 1e-3,
                `weight ${j}: ${row.weights[j]} vs ${top[j]![0] / mass}`
            );
    });

    test("adaptive routing: the stock build's logits at k when it keeps every expert, and at k_min when it keeps the fewest", () => {
        const { highP, lowP, lowPMin2 } = native.adaptive!;
        const [k2, k1] = [stock.results[0]!, stock.results[1]!];
        assert.equal(k2.k, 2);
        assert.equal(k1.k, 1);
        const maxDiff = (a: number[][], b: number[][]) =>
            Math.max(...a.flatMap((row, p) => row.map((v, t) => Math.abs(v - b[p]![t]!))));
        // p -> 1 keeps both of the trained k=2
        assert.ok(
            maxDiff(highP, k2.logits) < 1e-3,
            `p=0.999999, k<=2 differs from stock k=2 by ${maxDiff(highP, k2.logits)}`
        );
        // p = 0.01 keeps only k_min: its top expert at weight 1 (cap 4), or its top two (cap 8, k_min 2)
        assert.ok(
            maxDiff(lowP, k1.logits) < 1e-3,
            `p=0.01, k<=4 differs from stock k=1 by ${maxDiff(lowP, k1.logits)}`
        );
        assert.ok(
            maxDiff(lowPMin2, k2.logits) < 1e-3,
            `p=0.01, k_min=2, k<=8 differs from stock k=2 by ${maxDiff(lowPMin2, k2.logits)}`
        );
    });

    test("adaptive routing: per-token k within its bounds", (t) => {
        const { midUsed } = native.adaptive!;
        assert.ok(midUsed.length > 0);
        assert.ok(
            midUsed.every((n) => n >= 1 && n <= 4),
            `used counts ${midUsed}`
        );
        const average = midUsed.reduce((a, b) => a + b, 0) / midUsed.length;
        assert.ok(average > 1 && average < 4, `p=0.7 picks between 1 and 4 experts on average (${average.toFixed(2)})`);
        t.diagnostic(`adaptive p=0.7, k<=4: average k ${average.toFixed(2)} over ${midUsed.length} token-layer rows`);
    });

    test("adaptive routing skips the experts it leaves out: an expert made NaN, never first, costs nothing", async (t) => {
        // Layer 0's expert that this prompt's tokens choose second but never first (trace at k=2).
        const rows = native.trace!.rows.filter((r) => r.layer === 0);
        const first = new Set(rows.map((r) => r.experts[0]!));
        const victim = rows.map((r) => r.experts[1]!).find((e) => !first.has(e));
        if (victim === undefined) return t.skip("every expert layer 0 chose second was also chosen first");
        // Its down projection's Q8_0 block scales set to NaN (f16 0x7e00), in a copy of the model.
        const weights = await GgufWeights.open(MODEL);
        const [rowLength, rowsPerExpert] = weights.shape("blk.0.ffn_down_exps.weight") as [number, number];
        const blocks = rowLength / 32,
            rowBytes = blocks * 34;
        const bytes = readFileSync(MODEL);
        const start = weights.offset("blk.0.ffn_down_exps.weight") + victim * rowsPerExpert * rowBytes;
        for (let b = 0; b < rowsPerExpert * blocks; b++) bytes.writeUInt16LE(0x7e00, start + b * 34);
        const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-poisoned-"));
        const poisoned = path.join(dir, "poisoned.gguf");
        writeFileSync(poisoned, bytes);
        try {
            const out = JSON.parse(
                execFileSync(
                    process.execPath,
                    [
                        "--import",
                        "tsx",
                        path.join(import.meta.dirname, "probe.ts"),
                        poisoned,
                        "2",
                        PROMPT,
                        "--poisoned"
                    ],
                    {
                        cwd: ROOT,
                        // compared with the stock build's logits, which `stock` has without flash attention
                        env: { ...process.env, MOE_PILOT_NATIVE: "on", MOE_PILOT_FLASH_ATTENTION: "off" },
                        encoding: "utf8",
                        maxBuffer: 64 << 20
                    }
                )
            ) as { fixed: (number | null)[][]; adaptive: (number | null)[][] };
            // JSON writes NaN as null: at k=2 the poisoned expert reaches the logits (weight > 0)...
            assert.ok(
                out.fixed.flat().some((v) => v === null),
                `expert ${victim} of layer 0 made NaN did not reach the k=2 logits`
            );
            // ...while adaptive routing, keeping each token's top expert only, never computes it
            // (a kernel that computed it would give NaN x 0 = NaN): the stock build's k=1 logits
            const k1 = stock.results[1]!.logits;
            const diff = Math.max(
                ...out.adaptive.flatMap((row, p) => row.map((v, j) => Math.abs((v ?? NaN) - k1[p]![j]!)))
            );
            assert.ok(diff < 1e-3, `adaptive p=0.01 on the poisoned model differs from stock k=1 by ${diff}`);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
