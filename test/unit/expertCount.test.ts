import assert from "node:assert/strict";
import { test } from "node:test";
import path from "node:path";
import { chooseK, type ExpertModel } from "../../server/experts/expertCount";
import { EMBEDDED_COMPLETION_ADAPTIVE, EMBEDDED_MODEL_FILE, embeddedAdaptive } from "../../server/models/embeddedModel";

const qwen: ExpertModel = {
    name: "Qwen3-Coder",
    expertCount: 128,
    trainedK: 8,
    recommendedK: { completion: 6, chat: 8 }
};
const demo: ExpertModel = { name: "demo", expertCount: 8, trainedK: 2 };
const dense: ExpertModel = { name: "dense", expertCount: 0, trainedK: 0 };

test("a dense model has no expert count, whatever is asked", () => {
    for (const wanted of ["auto", 4] as const)
        assert.deepEqual(chooseK(dense, "chat", wanted, true, "moePilot.chat.experts"), { k: 0, mode: "not-moe" });
});

test("auto: the registry's starting k for the workload when it is lower, else the trained k — for completion and chat alike", () => {
    assert.deepEqual(chooseK(qwen, "completion", "auto", true, "s"), { k: 6, mode: "native" });
    assert.deepEqual(chooseK(qwen, "chat", "auto", true, "s"), { k: 8, mode: "native" });
    const chatLower: ExpertModel = { ...qwen, recommendedK: { completion: null, chat: 4 } };
    assert.deepEqual(chooseK(chatLower, "chat", "auto", false, "s"), { k: 4, mode: "override" });
    assert.deepEqual(chooseK(chatLower, "completion", "auto", false, "s"), { k: 8, mode: "trained" });
    assert.deepEqual(chooseK(demo, "completion", "auto", false, "s"), { k: 2, mode: "trained" });
});

test("a count above the model's experts is clamped, with the same warning naming its source for both workloads", () => {
    for (const [workload, source] of [
        ["completion", "moePilot.completion.experts"],
        ["chat", "moePilot.chat.experts"]
    ] as const) {
        const choice = chooseK(demo, workload, 12, false, source);
        assert.equal(choice.k, 8);
        assert.equal(choice.mode, "override");
        assert.equal(choice.warning, `${source} is 12, but demo has 8 experts per layer; using 8.`);
    }
});

test("the mode says how a count is applied: native runtime, the trained count, or an override instance", () => {
    assert.equal(chooseK(demo, "chat", 2, false, "s").mode, "trained");
    assert.equal(chooseK(demo, "chat", 1, false, "s").mode, "override");
    assert.equal(chooseK(demo, "chat", 1, true, "s").mode, "native");
    assert.equal(chooseK(demo, "completion", 3, true, "s").warning, undefined);
});

test("auto with measured adaptive routing: completion on the native runtime gets it, capped at the trained k; chat, stock binaries and numbers do not", () => {
    const measured: ExpertModel = { ...demo, adaptive: { p: 0.8, kMin: 1 } };
    assert.deepEqual(chooseK(measured, "completion", "auto", true, "s"), {
        k: 2,
        mode: "native",
        adaptive: { p: 0.8, kMin: 1 }
    });
    assert.deepEqual(chooseK(measured, "chat", "auto", true, "s"), { k: 2, mode: "native" });
    assert.deepEqual(chooseK(measured, "completion", "auto", false, "s"), { k: 2, mode: "trained" });
    assert.deepEqual(chooseK(measured, "completion", 1, true, "s"), { k: 1, mode: "native" });
    // a registry model has no measured setting: its documented starting point, as before
    assert.equal(chooseK(qwen, "completion", "auto", true, "s").adaptive, undefined);
});

test("embeddedAdaptive names the embedded model's measured setting by its place, and nothing else", () => {
    assert.deepEqual(embeddedAdaptive(path.join("/opt/ext", EMBEDDED_MODEL_FILE)), EMBEDDED_COMPLETION_ADAPTIVE);
    assert.equal(embeddedAdaptive("/models/Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf"), undefined);
    assert.equal(embeddedAdaptive("/tmp/moe-pilot-demo.gguf"), undefined);
});
