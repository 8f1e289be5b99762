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

    // Checked against the hub's pages (issue 22): file names are case-sensitive there, and these are the published sizes.
    test("every file is named as its hub repository spells it, with its published size", () => {
        const published: Record<string, [string, number]> = {
            "qwen3-coder-30b-a3b": ["Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf", 18_556_689_568],
            "gpt-oss-20b": ["gpt-oss-20b-MXFP4.gguf", 12_109_566_624],
            "deepseek-coder-v2-lite-instruct": ["DeepSeek-Coder-V2-Lite-Instruct-Q4_K_M.gguf", 10_364_416_768],
            "olmoe-1b-7b-instruct": ["olmoe-1b-7b-0924-instruct-q4_k_m.gguf", 4_213_512_672]
        };
        for (const [id, [file, bytes]] of Object.entries(published)) {
            const m = REGISTRY.find((r) => r.id === id);
            assert.ok(m, id);
            assert.equal(m.uri.split("/").pop(), file, id);
            assert.equal(m.fileBytes, bytes, id);
        }
        for (const id of ["deepseek-coder-v2-lite-base", "deepseek-coder-v2-lite-instruct"])
            assert.equal(
                REGISTRY.find((r) => r.id === id)?.experts.sharedCount,
                2,
                `${id}: 2 shared experts beside 64 routed`
            );
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
        memory: { needBytes: 25 * 2 ** 20, fit: { verdict: "fits", reason: "needs about 25.0 MiB" } },
        chatSampling: "temperature 0.7, top_p 0.9, top_k 40, min_p 0.05, repeat penalty 1.1: from the general default"
    };
    const md = cardMarkdown(card, "Model");
    assert.ok(!/(^|[^\\])<img/.test(md), md);
    assert.match(md, /\\<img src=x onerror=alert\(1\)\\> \\\| \\\*bold\\\*/);
    assert.match(md, /\| Experts \| 8 per layer, 2 used per token \|/);
    assert.match(md, /\| Fill-in-the-middle \| yes, the model's own FIM tokens \|/);
    assert.match(md, /\| Chat sampling \| temperature 0\.7, .*general default \(inline completion is greedy\) \|/);
});
