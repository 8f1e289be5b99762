import assert from "node:assert/strict";
import { test } from "node:test";
import type { GgufFileInfo } from "node-llama-cpp";
import { nextLayerPredictionLimit } from "../../server/experts/routingSupport";

const file = (arch: Record<string, number>, tensors: string[] = []) =>
    ({ architectureMetadata: arch, fullTensorInfo: tensors.map((name) => ({ name })) }) as unknown as GgufFileInfo;

test("next-layer prediction follows routers that rank by their logits, and says why not for the others", () => {
    assert.equal(nextLayerPredictionLimit(file({ expert_count: 64 }, ["blk.1.ffn_gate_inp.weight"])), undefined);
    assert.match(
        nextLayerPredictionLimit(file({ expert_count: 256 }, ["blk.3.exp_probs_b.bias"]))!,
        /selection bias per expert/
    );
    assert.match(nextLayerPredictionLimit(file({ expert_group_count: 8 }))!, /best groups of experts/);
    assert.equal(nextLayerPredictionLimit(file({ expert_group_count: 1 })), undefined);
    assert.equal(nextLayerPredictionLimit(file({ expert_gating_func: 2 })), undefined, "a sigmoid keeps the order");
});
