import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { REGISTRY, expertCacheFloorBytes, modelFit, registryModelForFile } from "../../server/models/registry";
import { cardMarkdown } from "../../src/modelCardReport";
import type { ModelCard } from "../../server/protocol";

const GiB = 2 ** 30;

describe("model registry", () => {
    test("every entry is complete and consistent", () => {
        const ids = new Set<string>();
        for (const m of REGISTRY) {
            assert.ok(!ids.has(m.id), `unique id ${m.id}`);
            ids.add(m.id);
            assert.match(m.uri, /^hf:[^/]+\/[^/]+\/[^/]+\.gguf$/, m.id);
            assert.ok(m.ramBytes > m.fileBytes, `${m.id}: memory beyond the file`);
            assert.ok(m.experts.trainedK < m.experts.expertCount && m.parameters.activeB < m.parameters.totalB, m.id);
            for (const k of [m.experts.recommendedK.completion, m.experts.recommendedK.chat])
                assert.ok(k === null || (k >= 1 && k <= m.experts.expertCount), `${m.id}: k ${k}`);
            assert.equal(
                m.fim === null,
                !m.roles.includes("completion"),
                `${m.id}: a FIM format exactly when it completes`
            );
            assert.equal(
                m.experts.recommendedK.completion === null,
                !m.roles.includes("completion"),
                `${m.id}: a completion k exactly when it completes`
            );
        }
    });

    test("fit: fits in what is available, else the expert cache above its floor, else too large", () => {
        const qwen = REGISTRY.find((m) => m.id === "qwen3-coder-30b-a3b")!;
        const floor = expertCacheFloorBytes(qwen);
        assert.ok(
            floor > 2 * GiB && floor < 8 * GiB,
            `floor ${(floor / GiB).toFixed(1)} GiB: a fraction of the 18.6 GB file`
        );
        assert.equal(modelFit(qwen, { totalBytes: 64 * GiB, availableBytes: 40 * GiB }).verdict, "fits");
        const cached = modelFit(qwen, { totalBytes: 16 * GiB, availableBytes: 10 * GiB });
        assert.equal(cached.verdict, "expert-cache");
        assert.match(cached.reason, /runs with the expert cache/);
        assert.equal(modelFit(qwen, { totalBytes: 4 * GiB, availableBytes: 2 * GiB }).verdict, "too-large");
    });

    test("a downloaded file is recognised under the hub's name and node-llama-cpp's", () => {
        assert.equal(registryModelForFile("/m/gpt-oss-20b-mxfp4.gguf")?.id, "gpt-oss-20b");
        assert.equal(registryModelForFile("/m/hf_ggml-org_gpt-oss-20b-mxfp4.gguf")?.id, "gpt-oss-20b");
        assert.equal(registryModelForFile("/m/my-gpt-oss-20b-mxfp4.gguf"), undefined);
    });
});

test("the model card report escapes what comes from a file's metadata", () => {
    const card: ModelCard = {
        path: "/m/x.gguf",
        name: "<img src=x onerror=alert(1)> | *bold*",
        architecture: "qwen3moe",
        sizeBytes: 7 * 2 ** 20,
        parts: 1,
        quantization: "Q8_0",
        layerCount: 4,
        trainContextSize: 1024,
        isMoe: true,
        expertCount: 8,
        trainedK: 2,
        fim: { source: "gguf-tokens", family: "gguf" },
        chatTemplate: false,
        memory: { needBytes: 25 * 2 ** 20, fit: { verdict: "fits", reason: "needs about 25.0 MiB" } }
    };
    const md = cardMarkdown(card, "Model");
    assert.ok(!/(^|[^\\])<img/.test(md), md);
    assert.match(md, /\\<img src=x onerror=alert\(1\)\\> \\\| \\\*bold\\\*/);
    assert.match(md, /\| Experts \| 8 per layer, 2 used per token \|/);
    assert.match(md, /\| Fill-in-the-middle \| yes, the model's own FIM tokens \|/);
});
