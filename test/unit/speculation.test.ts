import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { DraftPolicy, type StepBytes } from "../../server/speculation/draftPolicy";
import { lookupDraft } from "../../server/speculation/lookupDraft";

const t = (...xs: number[]) => xs as Token[];

describe("prompt lookup drafts", () => {
    test("the longest match of the last tokens, the latest of equals, and what followed it", () => {
        //             0  1  2  3  4  5  6  7  8  9
        const tokens = t(1, 2, 3, 4, 9, 2, 3, 7, 1, 2, 3);
        const match = lookupDraft(tokens, 3)!;
        assert.equal(match.end, 2); // [1 2 3] at 0..2 beats [2 3] at 5..6
        assert.equal(match.length, 3);
        assert.deepEqual(match.draft, t(4, 9, 2));
        assert.deepEqual(lookupDraft(t(5, 2, 3, 8, 2, 3), 2)!.draft, t(8, 2));
    });

    test("no match of two tokens: no draft; one common token is not enough", () => {
        assert.equal(lookupDraft(t(1, 2, 3, 4, 5), 4), undefined);
        assert.equal(lookupDraft(t(7, 1, 8, 1), 4), undefined);
        assert.equal(lookupDraft(t(1, 2), 4), undefined);
    });

    test("a loop continues past the end with its own period", () => {
        assert.deepEqual(lookupDraft(t(9, 5, 6, 5, 6), 5)!.draft, t(5, 6, 5, 6, 5));
    });
});

describe("draft length", () => {
    // the synthetic memory-bound MoE: 86 MB read once per batch, 1.6 MB per expert and layer, 12 layers of 64 experts (8 used)
    const bytes: StepBytes = { fixed: 86e6, expert: 1.6e6, layers: 12, expertsUsed: 8, expertCount: 64 };
    const k = 8 * 12;

    test("drafts whose tokens choose the experts already read are long; ones that read new experts, short or none", () => {
        const policy = new DraftPolicy(bytes);
        policy.observeStep(30, 1, k);
        for (let i = 0; i < 20; i++) policy.observeDraft(12, 4, 2); // two of four held: α ≈ 2/3
        const shared = Array.from({ length: 9 }, () => k); // every draft token reuses the same experts
        const fresh = Array.from({ length: 9 }, (_, n) => Math.min(64 * 12, k * (n + 1)));
        assert.ok(policy.choose(12, shared) >= 4, `shared experts: ${policy.choose(12, shared)}`);
        assert.ok(policy.choose(12, fresh) <= 1, `new experts: ${policy.choose(12, fresh)}`);
    });

    test("a draft that is rarely right, or a model whose batches cost what their tokens do, gets none", () => {
        const unlucky = new DraftPolicy(bytes);
        unlucky.observeStep(30, 1, k);
        for (let i = 0; i < 20; i++) unlucky.observeDraft(3, 2, 0);
        const loads = Array.from({ length: 5 }, (_, n) => Math.min(64 * 12, k * (n + 1)));
        assert.equal(unlucky.choose(3, loads), 0);

        // a model in the CPU's caches (the demo model): 2 tokens cost twice 1
        const small: StepBytes = { fixed: 2e6, expert: 0.15e6, layers: 4, expertsUsed: 2, expertCount: 8 };
        const compute = new DraftPolicy(small);
        for (let i = 0; i < 10; i++) {
            compute.observeStep(1, 1, 8);
            compute.observeStep(2, 2, 8);
            compute.observeDraft(12, 2, 1);
        }
        assert.equal(compute.choose(12, [8, 8, 8, 8]), 0);
        // so a match there is not costed at all (the routing is not read)
        assert.equal(compute.mayPay(12), false);
        // one verify step that cost what its tokens do one by one is enough to stop drafting
        const batchBound = new DraftPolicy(bytes);
        for (let i = 0; i < 3; i++) batchBound.observeStep(14, 1, k);
        assert.equal(batchBound.mayPay(12), true);
        batchBound.observeStep(34, 2, 144);
        assert.equal(batchBound.mayPay(12), false);
        const lucky = new DraftPolicy(bytes);
        lucky.observeStep(30, 1, k);
        assert.equal(lucky.mayPay(12), true);
    });
});
