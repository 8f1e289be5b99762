/**
 * Per-workload expert counts through the real server, on the embedded model, in both modes:
 * the native runtime (one model instance, k set per context between requests) and the fallback
 * with stock binaries (MOE_PILOT_NATIVE=off: a model instance per k). Greedy decoding on the same
 * llama.cpp means both must write the same completions and chat answers at each k. `auto` for
 * completion is adaptive routing on the native runtime (the embedded model's measured setting)
 * and the trained k on stock binaries.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type RoutingStatsResult, RoutingStatsRequest, type StatusParams } from "../../server/protocol";
import { EMBEDDED_COMPLETION_ADAPTIVE } from "../../server/models/embeddedModel";
import { TestClient } from "./lspClient";
import { withoutNativeBuild } from "../nativeBuild";

const DOC = "file:///w/sum.py";
const TEXT = "def total(values):\n    result = 0\n    for value in values:\n        ";
const AT = { line: 3, character: 8 };
const ask = (experts: "auto" | number) => ({
    messages: [{ role: "user" as const, content: "What does this code do?" }],
    attachments: [{ kind: "selection" as const, label: "sum.py:1-4", text: TEXT }],
    k: experts,
    maxTokens: 24
});

type Session = {
    modes: StatusParams["expertMode"][];
    /** The status's adaptive routing at `auto`, and the routing statistics after one completion there. */
    autoAdaptive: StatusParams["completionAdaptive"];
    autoStats: RoutingStatsResult;
    reloads: number;
    completions: Record<string, string>;
    chats: Record<string, { text: string; experts: number }>;
    loadedLines: number;
    /** Tokens per layer in the chat chunks' routing, per chat; and the statistics at the end. */
    chunkRouting: Record<string, number[][]>;
    stats: RoutingStatsResult;
};

async function session(env: NodeJS.ProcessEnv): Promise<Session> {
    // Without speculation: seeded chat sampling draws once per position a draft puts in a batch,
    // and the drafts differ between the builds (the native one costs them from the routing trace),
    // so the same seed would write different answers; greedy output is the same either way.
    const client = await TestClient.start(
        { settings: { completion: { debounceMs: 0 }, speculativeDecoding: "off" } },
        undefined,
        env
    );
    try {
        const first = await client.settled();
        assert.equal(first.state, "ready", first.message);
        const modes = [first.expertMode];
        const autoAdaptive = first.completionAdaptive;
        await client.open(DOC, TEXT, "python");
        const complete = async () => ((await client.complete(DOC, AT))?.items[0]?.insertText as string) ?? "";
        const setExperts = async (experts: number) => {
            const seen = client.status.all.length;
            await client.connection.sendNotification("workspace/didChangeConfiguration", {
                settings: { moePilot: { completion: { debounceMs: 0, experts }, speculativeDecoding: "off" } }
            });
            const s = await client.status.next(
                (x) =>
                    x.state === "ready" &&
                    x.completionK === experts &&
                    !x.completionAdaptive &&
                    client.status.all.indexOf(x) >= seen,
                `completion k=${experts}`
            );
            modes.push(s.expertMode);
        };
        const completions: Record<string, string> = {};
        // `auto` first (the default): on the native runtime, the embedded model's measured adaptive routing
        completions.auto = await complete();
        const autoStats = await client.connection.sendRequest(RoutingStatsRequest.type);
        await setExperts(2);
        completions.k2 = await complete();
        await setExperts(1);
        completions.k1 = await complete();
        await setExperts(2);
        completions.k2again = await complete();
        const chats: Session["chats"] = {};
        const chunkRouting: Session["chunkRouting"] = {};
        for (const k of [1, 8, "auto"] as const) {
            const sum: number[][] = [];
            const r = await client.chat(ask(k), (chunk) =>
                chunk.routing?.layers.forEach((l, i) => {
                    sum[i] = l.map((n, e) => n + (sum[i]?.[e] ?? 0));
                })
            );
            chats[String(k)] = { text: r.text, experts: r.k };
            chunkRouting[String(k)] = sum;
        }
        return {
            modes,
            autoAdaptive,
            autoStats,
            completions,
            chats,
            chunkRouting,
            stats: await client.connection.sendRequest(RoutingStatsRequest.type),
            reloads: client.status.all.filter((s) => s.state === "loading").length - 1,
            loadedLines: client.logs.all.filter((l) => /\bloaded .*moe-pilot-demo\.gguf/.test(l.message)).length
        };
    } finally {
        assert.equal(await client.stop(), 0);
    }
}

describe("expert counts per workload", () => {
    let native: Session | undefined;

    test("native runtime: k changes on the running contexts, no reload", { skip: withoutNativeBuild }, async () => {
        native = await session({});
        assert.deepEqual(native.modes, ["native", "native", "native", "native"]);
        // auto: adaptive routing capped at the trained k=2, fewer experts per token on average
        assert.deepEqual(native.autoAdaptive, EMBEDDED_COMPLETION_ADAPTIVE);
        // this session turned speculation off: the statistics say so, and why
        assert.deepEqual(
            { on: native.autoStats.speculation?.on, reason: native.autoStats.speculation?.reason },
            { on: false, reason: "off: moePilot.speculativeDecoding" }
        );
        const averageK = native.autoStats.completion!.averageK;
        assert.ok(averageK >= 1 && averageK < 2, `auto's completion used ${averageK} experts per token and layer`);
        assert.equal(native.reloads, 0, "changing the completion k did not load the model again");
        assert.equal(native.completions.k2again, native.completions.k2, "back at k=2, the k=2 completion again");
        assert.deepEqual(
            Object.values(native.chats).map((c) => c.experts),
            [1, 8, 2],
            "each chat ran at its own k; auto is the trained 2"
        );
        for (const c of Object.values(native.chats)) assert.ok(c.text.length > 0);
    });

    test(
        "native runtime: the chat streams which experts each piece went through; statistics per workload",
        { skip: withoutNativeBuild },
        () => {
            if (!native) throw new Error("the native session did not run");
            const ran: Session = native;
            const routing: Record<string, number[][]> = ran.chunkRouting;
            // every answer token after the first went through each of the 4 layers with k experts
            for (const [key, k] of [
                ["1", 1],
                ["8", 8],
                ["auto", 2]
            ] as const) {
                const layers = routing[key]!;
                assert.equal(layers.length, 4, `chat k=${key}: 4 MoE layers`);
                const perLayer = layers.map((l) => l.reduce((a, b) => a + b, 0));
                assert.ok(
                    perLayer[0]! > 0 && perLayer.every((n) => n === perLayer[0]),
                    `chat k=${key}: the same tokens in every layer (${perLayer})`
                );
                assert.equal(perLayer[0]! % k, 0, `chat k=${key}: k experts per token`);
            }
            const { stats } = native;
            assert.equal(stats.available, true);
            assert.equal(stats.expertCount, 8);
            for (const workload of [stats.completion!, stats.chat!]) {
                assert.ok(workload.tokens > 0);
                assert.equal(workload.droppedRows, 0);
                assert.deepEqual(
                    workload.layers.map((l) => l.layer),
                    [0, 1, 2, 3]
                );
                for (const l of workload.layers) {
                    assert.ok(l.loadEntropyBits > 0 && l.loadEntropyBits <= 3, `entropy ${l.loadEntropyBits}`);
                    assert.ok(l.previousTokenOverlap! >= 0 && l.previousTokenOverlap! <= 1);
                }
            }
            // the prompt tokens count too: the completion prompts alone are ~25 tokens x 3 requests
            assert.ok(stats.completion!.layers[0]!.load.reduce((a, b) => a + b, 0) >= 2 * 25);
        }
    );

    test("fallback (stock binaries): the same text at every k, through a model instance per k", async () => {
        const stock = await session({ MOE_PILOT_NATIVE: "off" });
        assert.deepEqual(stock.modes, ["trained", "trained", "override", "trained"]);
        assert.equal(stock.autoAdaptive, undefined, "stock binaries: auto is the trained k, no adaptive routing");
        assert.equal(stock.completions.auto, stock.completions.k2);
        assert.equal(
            stock.reloads,
            3,
            "the stock binaries need a load per completion expert setting change (auto → 2 too)"
        );
        // Against the native runtime's run, when there is one: the same text at every k.
        if (native) {
            const fixedK = ({ auto: _, ...rest }: Record<string, string>) => rest;
            assert.deepEqual(fixedK(stock.completions), fixedK(native.completions));
            assert.deepEqual(stock.chats, native.chats);
        }
        assert.equal(stock.stats.available, false);
        assert.match(stock.stats.reason!, /native MoE runtime/);
        assert.deepEqual(stock.chunkRouting["auto"], [], "no routing in the chunks without the trace");
    });
});
