import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GENERAL_SAMPLING, describeSampling, ggufSampling, resolveSampling } from "../../server/chat/sampling";
import { REGISTRY } from "../../server/models/registry";
import type { ChatSamplingSettings } from "../../server/protocol";
import { samplingParameters } from "../../server/remote/RemoteClient";

const MODEL: ChatSamplingSettings = {
    temperature: "model",
    topP: "model",
    topK: "model",
    minP: "model",
    repeatPenalty: "model",
    presencePenalty: "model"
};

describe("chat sampling", () => {
    test("a registry model samples as its authors publish; what they leave out is off", () => {
        const qwen = REGISTRY.find((m) => m.id === "qwen3-coder-30b-a3b")!;
        const r = resolveSampling(qwen.chatSampling, { temperature: 0.1 }, MODEL);
        assert.equal(r.source, "registry");
        assert.deepEqual(r.sampling, {
            temperature: 0.7,
            topP: 0.8,
            topK: 20,
            minP: 0,
            repeatPenalty: 1.05,
            presencePenalty: 0
        });
        const oss = REGISTRY.find((m) => m.id === "gpt-oss-20b")!;
        assert.deepEqual(
            [resolveSampling(oss.chatSampling, {}, MODEL).sampling.temperature, oss.chatSampling?.topP],
            [1, 1]
        );
    });

    test("a file from disk: its GGUF's general.sampling keys, the rest the general default (not greedy)", () => {
        const gguf = ggufSampling({ general: { sampling: { temp: 0.6, top_k: 30, penalty_repeat: "x" } } });
        assert.deepEqual(gguf, { temperature: 0.6, topK: 30 });
        const r = resolveSampling(undefined, gguf, MODEL);
        assert.equal(r.source, "gguf");
        assert.deepEqual(r.sampling, { ...GENERAL_SAMPLING, temperature: 0.6, topK: 30 });
        const none = resolveSampling(undefined, ggufSampling({ general: {} }), MODEL);
        assert.equal(none.source, "default");
        assert.ok(none.sampling.temperature > 0, "not greedy");
    });

    test("settings override one parameter at a time, and the card says so", () => {
        const r = resolveSampling(undefined, {}, { ...MODEL, temperature: 0, repeatPenalty: 1.2 });
        assert.deepEqual(r.overridden, ["temperature", "repeatPenalty"]);
        assert.equal(r.sampling.topP, GENERAL_SAMPLING.topP);
        assert.match(
            describeSampling(r),
            /^greedy \(temperature 0\), repeat penalty 1\.2: from the general default .*settings override temperature, repeatPenalty$/
        );
    });
});

describe("remote chat sampling", () => {
    test("what a remote engine is sent: all of a known model's values, only the settings' otherwise", () => {
        const known = resolveSampling({ temperature: 1, topP: 1 }, {}, MODEL);
        assert.deepEqual(samplingParameters(known, "openai"), { temperature: 1, top_p: 1, presence_penalty: 0 });
        assert.equal(samplingParameters(known, "llama-server").top_k, 0, "llama-server gets its own parameters too");
        const unknown = resolveSampling(undefined, {}, { ...MODEL, temperature: 0.2 });
        assert.deepEqual(
            samplingParameters(unknown, "llama-server"),
            { temperature: 0.2 },
            "the server's defaults apply"
        );
    });
});
