import assert from "node:assert/strict";
import { test } from "node:test";
import type { RoutingRow } from "../../server/engine/addonTypes";
import { WINDOW, RoutingStats, activity } from "../../server/routing/RoutingStats";

const row = (layer: number, pos: number, experts: number[]): RoutingRow => ({
    layer,
    pos,
    experts,
    weights: experts.map(() => 1 / experts.length)
});

test("load, entropy and previous-token overlap per layer", () => {
    const stats = new RoutingStats(4, 2);
    // layer 0: tokens alternate {0,1} {1,2} {0,1}: overlap 1/2 each step
    stats.add([row(0, 0, [0, 1]), row(0, 1, [1, 2]), row(0, 2, [0, 1])]);
    // layer 1: every expert equally: entropy log2(4) = 2 bits
    stats.add([row(1, 0, [0, 1]), row(1, 1, [2, 3])]);
    const s = stats.summary();
    assert.equal(s.tokens, 3);
    const [l0, l1] = s.layers;
    assert.deepEqual(l0!.load, [2, 3, 1, 0]);
    assert.equal(l0!.previousTokenOverlap, 0.5);
    assert.ok(Math.abs(l1!.loadEntropyBits - 2) < 1e-12);
    assert.equal(l1!.previousTokenOverlap, 0, "{0,1} then {2,3}: nothing shared");
    assert.equal(l0!.windowHitRate, undefined, "no full window yet");
});

test("a jump in position is not counted as consecutive", () => {
    const stats = new RoutingStats(4, 1);
    stats.add([row(0, 0, [1]), row(0, 5, [1]), row(0, 6, [1])]);
    assert.equal(stats.summary().layers[0]!.previousTokenOverlap, 1, "only 5→6 counts");
});

test("window hit rate: what the window's C most used experts would serve", () => {
    const stats = new RoutingStats(8, 1);
    // one full window: expert 0 on 3/4 of the tokens, experts 1..4 share the rest
    const rows = Array.from({ length: WINDOW }, (_, i) => row(0, i, [i % 4 === 3 ? 1 + ((i >> 2) % 4) : 0]));
    stats.add(rows);
    const hit = stats.summary().layers[0]!.windowHitRate!;
    assert.deepEqual(Object.keys(hit).map(Number), [1, 2, 4]);
    assert.equal(hit[1], 0.75);
    assert.equal(hit[2], 0.75 + 4 / 64);
    assert.equal(hit[4], 0.75 + 12 / 64);
});

test("dropped rows are counted, not hidden", () => {
    const stats = new RoutingStats(4, 2);
    stats.add([row(0, 0, [0, 1])], 17);
    assert.equal(stats.summary().droppedRows, 17);
});

test("activity: per layer, tokens per expert", () => {
    const a = activity([row(1, 4, [0, 2]), row(1, 5, [2, 3]), row(0, 4, [1, 3])], 4);
    assert.deepEqual(a, {
        expertCount: 4,
        layers: [
            [0, 1, 0, 1],
            [1, 0, 2, 1]
        ]
    });
});
