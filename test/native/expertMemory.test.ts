/**
 * The expert cache's mechanism in the native runtime (native/patches/addon/0003) on the embedded
 * model's real mapping: operations queued for the I/O worker run in order before a synchronous
 * one (so a residency measurement sees the page-outs queued before it), an error a queued operation
 * meets reaches the next call, the prefetch hook hands the worker only what the page cache lacks,
 * and the disk's read rate can be measured with direct I/O.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama, type LlamaModel, readGgufFileInfo } from "node-llama-cpp";
import { allExpertRanges, expertLayout, type ExpertLayout, prefetchTable } from "../../server/cache/expertSlices";
import type { MemoryControl } from "../../server/engine/addonTypes";
import { llamaBinaries, NativeMoeContext } from "../../server/engine/nativeMoe";
import { withoutNativeBuild } from "../nativeBuild";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const MODEL = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");
const skip = withoutNativeBuild || (process.platform !== "linux" && "the expert cache's mechanism is Linux only");

describe("expert memory (I/O worker)", { skip }, () => {
    let llama: Llama;
    let model: LlamaModel;
    let layout: ExpertLayout;
    let control: MemoryControl;

    before(async () => {
        llama = await getLlama({ ...llamaBinaries(), progressLogs: false });
        model = await llama.loadModel({ modelPath: MODEL, gpuLayers: 0 });
        const info = await readGgufFileInfo(MODEL, { readTensorInfo: true });
        layout = expertLayout(info.fullTensorInfo!, NativeMoeContext.typeGeometry(llama), statSync(MODEL).size)!;
        control = NativeMoeContext.memoryControl(llama, MODEL)!;
        assert.ok(control, "the native build has the memory control");
    });
    after(async () => {
        await model?.dispose();
    });

    const resident = () => control("residency", allExpertRanges(layout)).bytes!.reduce((a, b) => a + b, 0);

    const mlockSkip = process.getuid?.() !== 0 && "pinning the model's pages needs root or a raised ulimit -l";
    test("queued operations run before a synchronous one, in order", { skip: mlockSkip }, () => {
        const experts = allExpertRanges(layout);
        // pinned (faulted in whole), then pushed out: a measurement after both sees them gone
        assert.equal(control("lock", experts, "queued").ok, true);
        assert.equal(control("unlock", experts, "queued").ok, true);
        assert.equal(control("pageout", experts, "queued").ok, true);
        const after = resident();
        assert.ok(
            after < layout.expertTotal * 0.2,
            `${after} of ${layout.expertTotal} expert bytes still resident after the queued page-out`
        );
        control("lock", experts, "queued");
        assert.ok(resident() >= layout.expertTotal, "the queued pin faulted every expert page in");
        control("unlock", experts);
    });

    test("an error of a queued operation reaches the next call", () => {
        const elsewhere = NativeMoeContext.memoryControl(llama, path.join(ROOT, "package.json"))!;
        assert.equal(elsewhere("willneed", [{ offset: 0, length: 4096 }], "queued").ok, true);
        control("residency", [{ offset: 0, length: 4096 }]); // waits for the queue
        const next = elsewhere("willneed", [{ offset: 0, length: 4096 }], "queued");
        assert.equal(next.ok, false);
        assert.match(next.error ?? "", /not memory-mapped/);
    });

    test("the prefetch hook asks the worker only for the expert pages the page cache lacks", async () => {
        const context = await model.createContext({ contextSize: 256, threads: 1 });
        try {
            const moe = NativeMoeContext.of(context, layout.expertCount)!;
            // next-layer prediction on, naming each next router's whole top k
            assert.equal(moe.setPrefetch(MODEL, prefetchTable(layout), true, 0), true);
            const decode = async (text: string) => {
                const sequence = context.getSequence();
                let n = 0;
                for await (const token of sequence.evaluate(model.tokenize(text), { temperature: 0 }))
                    if (token >= 0 && ++n >= 8) break;
                sequence.dispose();
            };
            readFileSync(MODEL); // the whole file in the page cache, read (a WILLNEED would only start it)
            await decode("def add(a, b):\n");
            const warm = moe.prefetchStats();
            assert.ok(warm.residentBytes > 0, "the chosen experts were counted");
            assert.equal(warm.requestedBytes, 0, "nothing to read: nothing handed to the worker");
            assert.equal(warm.missedExperts, 0);

            assert.equal(control("pageout", allExpertRanges(layout)).ok, true);
            await decode("class Stack:\n");
            const cold = moe.prefetchStats();
            assert.ok(cold.requestedBytes > 0, "the chosen experts pushed out were read again");
            assert.ok(
                cold.readAheadExperts > 0 && cold.readAheadExperts <= cold.missedExperts,
                `${cold.readAheadExperts} of ${cold.missedExperts} misses read a layer ahead`
            );
            assert.ok(resident() > 0, "and are in the page cache");
        } finally {
            await context.dispose();
        }
    });

    test("the disk's rate for direct reads of the experts", () => {
        const rate = NativeMoeContext.readBandwidth(llama, MODEL, allExpertRanges(layout), 2);
        assert.equal(typeof rate, "number", String(rate));
        assert.ok((rate as number) > 1e6, `${rate} bytes/s`);
    });
});
