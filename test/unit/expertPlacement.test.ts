import assert from "node:assert/strict";
import { test } from "node:test";
import { EXPERT_TENSORS, expertPlacementOverrides } from "../../server/experts/expertPlacement";

const matches = (overrides: { pattern: string }[], name: string) =>
    overrides.some((o) => new RegExp(o.pattern).test(name));

test("off and 0: no overrides", () => {
    assert.deepEqual(expertPlacementOverrides("off", 48), []);
    assert.deepEqual(expertPlacementOverrides(0, 48), []);
});

test("all: one pattern, llama-server's --cpu-moe, for every expert tensor and nothing else", () => {
    const all = expertPlacementOverrides("all", 48);
    assert.deepEqual(all, [{ pattern: "\\.ffn_(up|down|gate|gate_up)_(ch|)exps", buffer: "CPU" }]);
    for (const name of [
        "blk.0.ffn_up_exps.weight",
        "blk.47.ffn_down_exps.weight",
        "blk.3.ffn_gate_exps.weight",
        "blk.3.ffn_gate_up_exps.weight",
        "blk.9.ffn_up_chexps.weight"
    ])
        assert.ok(matches(all, name), name);
    for (const name of [
        "blk.0.ffn_gate_inp.weight",
        "blk.0.ffn_up_shexp.weight",
        "blk.0.attn_q.weight",
        "token_embd.weight",
        "output.weight",
        "blk.0.ffn_up.weight"
    ])
        assert.ok(!matches(all, name), name);
});

test("N layers: --n-cpu-moe N, the first N layers' experts only (blk.1 is not blk.10)", () => {
    const first2 = expertPlacementOverrides(2, 48);
    assert.deepEqual(
        first2.map((o) => o.pattern),
        [`blk\\.0${EXPERT_TENSORS}`, `blk\\.1${EXPERT_TENSORS}`]
    );
    assert.ok(matches(first2, "blk.0.ffn_up_exps.weight"));
    assert.ok(matches(first2, "blk.1.ffn_down_exps.weight"));
    assert.ok(!matches(first2, "blk.10.ffn_down_exps.weight"));
    assert.ok(!matches(first2, "blk.2.ffn_gate_exps.weight"));
    assert.ok(!matches(first2, "blk.1.attn_k.weight"));
});

test("N at or above the layer count is all", () => {
    assert.deepEqual(expertPlacementOverrides(48, 48), expertPlacementOverrides("all", 48));
});
