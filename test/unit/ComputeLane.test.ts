import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ComputeLane, Priority } from "../../server/engine/ComputeLane";

/** A job that runs until released, recording when it started. */
function gate() {
    let open!: () => void;
    const released = new Promise<void>((r) => {
        open = r;
    });
    return { released, open };
}

describe("compute lane", () => {
    test("one job at a time; completion jumps ahead of queued chat and background", async () => {
        const lane = new ComputeLane();
        const order: string[] = [];
        const first = gate();
        const started = gate();
        const running = lane.run(Priority.Chat, undefined, async () => {
            order.push("chat-1");
            started.open();
            await first.released;
        });
        await started.released;
        const background = lane.run(Priority.Background, undefined, async () => {
            order.push("background");
        });
        const chat = lane.run(Priority.Chat, undefined, async () => {
            order.push("chat-2");
        });
        const completion = lane.run(Priority.Completion, undefined, async () => {
            order.push("completion");
        });
        assert.deepEqual(order, ["chat-1"], "the others wait");
        assert.equal(lane.shouldYield(Priority.Chat), true, "a waiting completion asks chat to yield");
        first.open();
        await Promise.all([running, background, chat, completion]);
        assert.deepEqual(order, ["chat-1", "completion", "chat-2", "background"]);
    });

    test("a job aborted while queued never runs and rejects with the abort reason", async () => {
        const lane = new ComputeLane();
        const first = gate();
        const running = lane.run(Priority.Completion, undefined, () => first.released);
        const controller = new AbortController();
        let ran = false;
        const queued = lane.run(Priority.Completion, controller.signal, async () => {
            ran = true;
        });
        controller.abort();
        await assert.rejects(queued, { name: "AbortError" });
        first.open();
        await running;
        assert.equal(ran, false);
        assert.equal(lane.queued, 0);
        await lane.run(Priority.Completion, undefined, async () => {}); // the lane is free again
    });

    test("a failing job releases the lane", async () => {
        const lane = new ComputeLane();
        await assert.rejects(
            lane.run(Priority.Chat, undefined, async () => {
                throw new Error("boom");
            }),
            /boom/
        );
        assert.equal(await lane.run(Priority.Chat, undefined, async () => 7), 7);
    });
});

describe("compute lane: long jobs yield", () => {
    test("a chat yields between tokens to a waiting completion, then continues", async () => {
        const lane = new ComputeLane();
        const order: string[] = [];
        const step = gate();
        const chatStarted = gate();
        const chat = lane.run(Priority.Chat, undefined, async (turn) => {
            order.push("chat token 1");
            chatStarted.open();
            await step.released;
            await turn.yieldIfWaited();
            order.push("chat token 2");
        });
        await chatStarted.released;
        const completion = lane.run(Priority.Completion, undefined, async () => {
            order.push("completion");
        });
        step.open();
        await Promise.all([chat, completion]);
        assert.deepEqual(order, ["chat token 1", "completion", "chat token 2"]);
    });

    test("yielding with nobody waiting keeps the lane", async () => {
        const lane = new ComputeLane();
        let yielded = 0;
        await lane.run(Priority.Chat, undefined, async (turn) => {
            await turn.yieldIfWaited();
            yielded++;
        });
        assert.equal(yielded, 1);
        assert.equal(lane.queued, 0);
    });
});
