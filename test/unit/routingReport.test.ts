import assert from "node:assert/strict";
import { test } from "node:test";
import { routingMarkdown } from "../../src/routingReport";

test("the routing report: a table per workload, the reason when unavailable", () => {
    const md = routingMarkdown(
        {
            available: true,
            expertCount: 8,
            trainedK: 2,
            completion: {
                tokens: 70,
                averageK: 1.43,
                droppedRows: 0,
                layers: [
                    {
                        layer: 0,
                        load: [10, 100, 0, 0, 0, 0, 0, 30],
                        loadEntropyBits: 1.2,
                        previousTokenOverlap: 0.5,
                        windowHitRate: { 2: 0.6, 4: 0.9, 8: 1 }
                    }
                ]
            },
            chat: { tokens: 0, averageK: 0, droppedRows: 0, layers: [] }
        },
        "demo"
    );
    assert.match(md, /^# Expert routing: demo/);
    assert.match(md, /70 tokens, 1\.43 experts per token and layer on average\./);
    assert.match(
        md,
        /\| 0 \| 1\.20 \| 50\.0% \| 60\.0% \| 90\.0% \| 100\.0% \| 1 \(71\.4%\), 7 \(21\.4%\), 0 \(7\.1%\) \|/
    );
    assert.match(md, /## Chat and actions\n\nNo tokens yet\./);
    assert.equal(
        routingMarkdown({ available: false, reason: "Stock binaries.", expertCount: 8, trainedK: 2 }, "demo"),
        "# Expert routing\n\nStock binaries.\n"
    );
});

test("the routing report: the expert cache's state, on or off with its reason", () => {
    const base = { available: true, expertCount: 8, trainedK: 2 } as const;
    const on = routingMarkdown(
        {
            ...base,
            cache: {
                state: "on",
                budgetBytes: 4 * 2 ** 20,
                modelBytes: 7 * 2 ** 20,
                quotaPerLayer: 2,
                policy: "score",
                hitRate: 0.75,
                predictedShare: 0.625,
                inMemoryShare: 0.875,
                diskBytesPerToken: 2 ** 20,
                pinnedBytes: 3 * 2 ** 20,
                tokens: 40
            }
        },
        "demo"
    );
    assert.match(
        on,
        /## Expert cache\n\nOn: the model \(7 MiB\) is larger than the memory budget \(4 MiB\)\. 2 experts kept per layer \(score policy\), 3 MiB pinned/
    );
    assert.match(on, /\| 87\.5% \| 75\.0% \| 62\.5% \| 1 MiB \| 40 \|/);
    const off = routingMarkdown(
        { ...base, cache: { state: "off", reason: "the model fits", budgetBytes: 1, modelBytes: 1 } },
        "demo"
    );
    assert.match(off, /## Expert cache\n\nOff: the model fits\./);
});

test("the routing report: speculative decoding, with its reason and how often drafts held", () => {
    const base = { available: true, expertCount: 8, trainedK: 2 } as const;
    const on = routingMarkdown(
        {
            ...base,
            speculation: {
                on: true,
                reason: "on (auto): a token reads 239 MiB of weights",
                drafts: 4,
                drafted: 10,
                accepted: 7
            }
        },
        "synthetic"
    );
    assert.match(
        on,
        /## Speculative decoding \(inline completion\)\n\nOn \(auto\): a token reads 239 MiB of weights\. 4 drafts verified since the load; 7 of their 10 tokens held \(70\.0%\)\./
    );
    const off = routingMarkdown(
        {
            available: false,
            reason: "Stock binaries.",
            expertCount: 8,
            trainedK: 2,
            speculation: { on: false, reason: "off: moePilot.speculativeDecoding", drafts: 0, drafted: 0, accepted: 0 }
        },
        "demo"
    );
    assert.match(
        off,
        /Stock binaries\.\n\n## Speculative decoding \(inline completion\)\n\nOff: moePilot\.speculativeDecoding\.\n$/
    );
});
