import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { watchModelFiles } from "../../server/engine/modelFileWatch";

test("a file replaced the moment its watch starts is still reported (before fs.watchFile's first stat)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-watch-"));
    const file = path.join(dir, "model.gguf");
    writeFileSync(file, "old weights");
    try {
        const change = new Promise<string>((resolve) => {
            const stop = watchModelFiles([file], (kind) => {
                stop();
                resolve(kind);
            });
            // renamed over it in the same tick: watchFile's own baseline would be the new file
            writeFileSync(`${file}.tmp`, "new weights, same size?");
            renameSync(`${file}.tmp`, file);
        });
        // (a timer that holds the process open: the watch itself does not)
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("no report"), 8000)));
        const result = await Promise.race([change, timeout]);
        clearTimeout(timer);
        assert.equal(result, "changed");
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
