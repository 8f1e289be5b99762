/**
 * The native MoE runtime (native/) on the embedded model, against stock llama.cpp:
 * - the same prompt at k = 1, 2 (trained), 8 (all) and 1 again, switched between requests on ONE
 *   context of the patched build, gives the logits the stock binaries give with a model loaded
 *   at that k through `metadataOverrides`;
 * - the routing trace has a row per token and MoE layer, and its first row agrees with layer 0's
 *   router applied, here in TypeScript, to the first token's hidden state computed from the
 *   GGUF's own weights.
 * Each side runs in a child process (probe.ts): a process loads one kind of llama.cpp binaries.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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
    adaptive?: { lowP: number[][]; midUsed: number[] };
};

function probe(mode: "on" | "off"): Probe {
    const out = execFileSync(
        process.execPath,
        ["--import", "tsx", path.join(import.meta.dirname, "probe.ts"), MODEL, COUNTS.join(","), PROMPT],
        { cwd: ROOT, env: { ...process.env, MOE_PILOT_NATIVE: mode }, encoding: "utf8", maxBuffer: 64 << 20 }
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

    test("adaptive routing: per-token k within its bounds; a tiny p is exactly k=1", (t) => {
        const { lowP, midUsed } = native.adaptive!;
        // p = 0.01 keeps only each token's top expert, weight 1: the k=1 computation
        const k1 = native.results[1]!;
        assert.equal(k1.k, 1);
        const maxDiff = Math.max(...lowP.flatMap((row, p) => row.map((v, t) => Math.abs(v - k1.logits[p]![t]!))));
        assert.ok(maxDiff < 1e-3, `adaptive p=0.01 differs from k=1 by ${maxDiff}`);
        assert.ok(midUsed.length > 0);
        assert.ok(
            midUsed.every((n) => n >= 1 && n <= 4),
            `used counts ${midUsed}`
        );
        const average = midUsed.reduce((a, b) => a + b, 0) / midUsed.length;
        assert.ok(average > 1 && average < 4, `p=0.7 picks between 1 and 4 experts on average (${average.toFixed(2)})`);
        t.diagnostic(`adaptive p=0.7, k<=4: average k ${average.toFixed(2)} over ${midUsed.length} token-layer rows`);
    });
});
