/**
 * Experts-on-CPU placement (moePilot.gpu.expertsOnCpu) reaches llama.cpp's loader: with the native
 * build, the expert tensors the setting names and only those are reported by llama.cpp itself as
 * overridden to the CPU buffer. There is no GPU here, so this proves the plumbing, not the speed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { withoutNativeBuild } from "../nativeBuild";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const MODEL = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");

type Placement = { accepted: boolean; overridden: string[]; unknownBuffer?: string };

function place(setting: string, native: "on" | "off" = "on"): Placement {
    const out = execFileSync(
        process.execPath,
        ["--import", "tsx", path.join(import.meta.dirname, "placementProbe.ts"), MODEL, setting],
        { cwd: ROOT, env: { ...process.env, MOE_PILOT_NATIVE: native }, encoding: "utf8" }
    );
    return JSON.parse(out) as Placement;
}

describe("experts-on-CPU placement", () => {
    test("all: every layer's expert tensors, nothing else", { skip: withoutNativeBuild }, () => {
        const r = place("all");
        assert.equal(r.accepted, true);
        const layers = new Set(r.overridden.map((t) => /^blk\.(\d+)\./.exec(t)?.[1]));
        assert.deepEqual([...layers].sort(), ["0", "1", "2", "3"]);
        assert.equal(r.overridden.length, 4 * 3, r.overridden.join(" "));
        for (const t of r.overridden) assert.match(t, /^blk\.\d+\.ffn_(gate|up|down)_exps\.weight=CPU$/);
    });

    test("N: the experts of the first N layers", { skip: withoutNativeBuild }, () => {
        const r = place("2");
        assert.deepEqual(r.overridden.map((t) => t.split(".")[1]).sort(), ["0", "0", "0", "1", "1", "1"]);
    });

    test("off: no override; an unknown buffer name is refused with its name", { skip: withoutNativeBuild }, () => {
        const r = place("off");
        assert.deepEqual(r.overridden, []);
        assert.match(r.unknownBuffer ?? "", /Unknown buffer type.*NO-SUCH-BUFFER/);
    });

    test("stock binaries: not accepted (the engine warns), nothing overridden", () => {
        const r = place("all", "off");
        assert.equal(r.accepted, false);
        assert.deepEqual(r.overridden, []);
    });
});
