/** Routing embeddings from trace rows: pooled per layer, each layer of equal weight, compared by cosine. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cosine, poolRouting } from "../../server/routing/routingEmbedding";

const row = (layer: number, pos: number, experts: number[], weights: number[]) => ({ layer, pos, experts, weights });

test("a text's vector is its layers' mean expert weights, each layer normalised; alike routing is near, unlike far", () => {
    const a = poolRouting(
        [row(0, 0, [0, 1], [0.75, 0.25]), row(0, 1, [0, 1], [0.75, 0.25]), row(1, 0, [2], [1])],
        2,
        4
    );
    assert.equal(a.length, 8);
    assert.ok(Math.abs(cosine(a, a) - 1) < 1e-6, "unit length");
    // Layer 0: (0.75, 0.25) normalised, scaled by 1/sqrt(2) for two layers; layer 1: expert 2 alone.
    assert.ok(Math.abs(a[0]! - 0.75 / Math.hypot(0.75, 0.25) / Math.SQRT2) < 1e-6);
    assert.ok(Math.abs(a[6]! - 1 / Math.SQRT2) < 1e-6);
    const same = poolRouting([row(0, 0, [0, 1], [0.7, 0.3]), row(1, 0, [2], [1])], 2, 4);
    const other = poolRouting([row(0, 0, [3], [1]), row(1, 0, [0], [1])], 2, 4);
    assert.ok(cosine(a, same) > 0.99);
    assert.equal(cosine(a, other), 0);
    // Rows outside the model's shape (a corrupt trace) are ignored, not written out of bounds.
    assert.equal(
        poolRouting([row(5, 0, [9], [1]), row(-1, 0, [0], [1])], 2, 4).every((v) => v === 0),
        true
    );
});
