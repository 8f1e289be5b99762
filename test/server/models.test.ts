/**
 * Model files as users meet them: missing, not a GGUF, cut short, dense instead of MoE, and
 * expert counts other than the trained one. Each gives a clear message, never a crash or a hang,
 * and the server recovers when the setting is fixed.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, openSync, readSync, closeSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { StatusRequest, type StatusParams } from "../../server/protocol";
import { TEST_MODELS, TestClient } from "./lspClient";
import { withoutNativeBuild } from "../nativeBuild";

const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-models-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function headOf(file: string, bytes: number, to: string) {
    const buf = Buffer.alloc(bytes);
    const fd = openSync(file, "r");
    readSync(fd, buf, 0, bytes, 0);
    closeSync(fd);
    writeFileSync(to, buf);
    return to;
}

describe("model files", () => {
    let client: TestClient;
    /** Points the running server at `modelPath` (and completion settings) and waits for the outcome. */
    async function use(modelPath: string, completion: object = {}): Promise<StatusParams> {
        const seen = client.status.all.length;
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { modelPath, completion: { debounceMs: 0, ...completion } } }
        });
        return client.status.next(
            (s) => (s.state === "ready" || s.state === "error") && client.status.all.indexOf(s) >= seen,
            `load of ${modelPath}`
        );
    }

    before(async () => {
        client = await TestClient.start({ settings: { modelPath: path.join(dir, "missing.gguf") } });
    });
    after(async () => {
        if (client) assert.equal(await client.stop(), 0);
    });

    test("a path that does not exist: error status and one message, the server stays up", async () => {
        const status = await client.settled();
        assert.equal(status.state, "error");
        assert.match(status.message!, /Model file not found: .*missing\.gguf/);
        const shown = await client.messages.find((m) => m.type === 1, "an error message");
        assert.match(shown.message, /not found/);
        assert.equal((await client.connection.sendRequest(StatusRequest.type)).state, "error", "still answering");
        await client.open("file:///w/x.ts", "let x = ");
        assert.equal(
            await client.complete("file:///w/x.ts", { line: 0, character: 8 }),
            null,
            "no model, no completion, no error"
        );
    });

    test("a file that is not a GGUF", async () => {
        const file = path.join(dir, "notes.gguf");
        writeFileSync(file, "these are my notes, not a model\n");
        const status = await use(file);
        assert.equal(status.state, "error");
        assert.match(status.message!, /notes\.gguf is not a GGUF model file/);
    });

    test("a GGUF cut short in its tensor data", async () => {
        const status = await use(headOf(TEST_MODELS.moe, 4_000_000, path.join(dir, "cut.gguf")));
        assert.equal(status.state, "error");
        assert.match(status.message!, /cut\.gguf is incomplete: its tensors need \d+ bytes but the file has 4000000/);
    });

    test("a GGUF cut short in its header", async () => {
        const status = await use(headOf(TEST_MODELS.moe, 300, path.join(dir, "header.gguf")));
        assert.equal(status.state, "error");
        assert.match(status.message!, /header\.gguf is damaged or incomplete/);
    });

    test("a directory instead of a file", async () => {
        const status = await use(dir);
        assert.equal(status.state, "error");
        assert.match(status.message!, /not a file/);
    });

    test("fixing the setting recovers: the MoE model loads and completes", async () => {
        const status = await use(TEST_MODELS.moe);
        assert.equal(status.state, "ready");
        const list = await client.complete("file:///w/x.ts", { line: 0, character: 8 });
        assert.ok(list && Array.isArray(list.items));
    });

    test("a dense (non-MoE) model completes, with expert features not applicable", async () => {
        const copy = path.join(dir, "dense.gguf");
        copyFileSync(TEST_MODELS.dense, copy);
        const status = await use(copy);
        assert.equal(status.state, "ready", status.message);
        assert.equal(status.model!.isMoe, false);
        assert.equal(status.model!.expertCount, 0);
        assert.equal(status.expertMode, "not-moe");
        assert.equal(status.completionK, 0);
        assert.equal(status.model!.isEmbedded, false);
        const list = await client.complete("file:///w/x.ts", { line: 0, character: 8 });
        assert.ok(list && Array.isArray(list.items));
    });

    test(
        "a completion expert count other than the trained one: set on the running context, no reload",
        { skip: withoutNativeBuild },
        async () => {
            assert.equal((await use(TEST_MODELS.moe)).completionK, 2, "back on the MoE model, at its trained k");
            const seen = client.status.all.length;
            const status = await use(TEST_MODELS.moe, { experts: 1 });
            assert.equal(status.state, "ready", status.message);
            assert.equal(status.completionK, 1);
            assert.equal(status.expertMode, "native");
            assert.ok(
                !client.status.all.slice(seen).some((s) => s.state === "loading"),
                "the model was not loaded again"
            );
            const list = await client.complete("file:///w/x.ts", { line: 0, character: 8 });
            assert.ok(list && Array.isArray(list.items));
        }
    );

    test("more experts than the model has: a warning, and all experts", async () => {
        const warned = client.messages.next(
            (m) => m.type === 2 && /has 8 experts per layer/.test(m.message),
            "the warning"
        );
        const status = await use(TEST_MODELS.moe, { experts: 99 });
        await warned;
        assert.equal(status.state, "ready");
        assert.equal(status.completionK, 8);
    });

    test("an invalid setting value is reported and replaced by its default", async () => {
        const warned = client.messages.next(
            (m) => m.type === 2 && /moePilot\.completion\.experts/.test(m.message),
            "the settings warning"
        );
        await client.connection.sendNotification("workspace/didChangeConfiguration", {
            settings: { moePilot: { modelPath: TEST_MODELS.moe, completion: { experts: "lots" } } }
        });
        await warned;
    });

    test("the loaded file replaced on disk loads again; deleted, the loaded model keeps working; replaced by a cut file, a clear error", async () => {
        const live = path.join(dir, "live.gguf");
        copyFileSync(TEST_MODELS.moe, live);
        const first = await use(live, { experts: "auto" });
        assert.equal(first.state, "ready", first.message);
        assert.equal(first.model?.architecture, "qwen3moe");

        // A new version arrives the way downloads and copies land: written aside, renamed over.
        let seen = client.status.all.length;
        const told = client.messages.next(
            (m) => /live\.gguf changed on disk; loading it again/.test(m.message),
            "the change message"
        );
        copyFileSync(TEST_MODELS.dense, `${live}.tmp`);
        renameSync(`${live}.tmp`, live);
        await told;
        const reloaded = await client.status.next(
            (s) => s.state === "ready" && client.status.all.indexOf(s) >= seen,
            "the reload"
        );
        assert.equal(reloaded.model?.architecture, "qwen3", "the new file is what runs");

        const deleted = client.messages.next(
            (m) => /live\.gguf was deleted or moved while loaded\. The loaded model keeps working/.test(m.message),
            "the deletion message"
        );
        rmSync(live);
        await deleted;
        await client.open("file:///w/live.py", "def add(a, b):\n    ");
        assert.ok(
            await client.complete("file:///w/live.py", { line: 1, character: 4 }),
            "still completing from the mapped file"
        );

        seen = client.status.all.length;
        headOf(TEST_MODELS.moe, 4_000_000, `${live}.tmp`);
        renameSync(`${live}.tmp`, live);
        const broken = await client.status.next(
            (s) => s.state === "error" && client.status.all.indexOf(s) >= seen,
            "the refused reload"
        );
        assert.match(broken.message!, /live\.gguf is incomplete/);
    });
});
