/**
 * Watches the loaded model files. llama.cpp memory-maps them: a file replaced on disk (a new
 * download, a copy over it) is not what runs any more, and a file rewritten in place changes the
 * weights under a running model. Deleted, the mapping stays valid (the kernel keeps the inode), so
 * the model keeps working until the next load.
 *
 * Polls `stat` (fs.watchFile): works on every file system, including network mounts where change
 * events do not arrive. A change is reported once the file has stopped changing (a copy in
 * progress is one change, not hundreds).
 */
import { type Stats, statSync, unwatchFile, watchFile } from "node:fs";

export type ModelFileChange = "changed" | "deleted";

const POLL_MS = 1000;
/** Quiet time after the last change before it is reported. */
const SETTLE_MS = 1500;

export function watchModelFiles(
    files: readonly string[],
    onChange: (change: ModelFileChange, file: string) => void
): () => void {
    const timers = new Map<string, NodeJS.Timeout>();
    const listeners = files.map((file) => {
        const listener = (curr: Stats, prev: Stats) => {
            const deleted = curr.ino === 0 && curr.mtimeMs === 0;
            if (!deleted && curr.ino === prev.ino && curr.size === prev.size && curr.mtimeMs === prev.mtimeMs) return;
            clearTimeout(timers.get(file));
            timers.set(
                file,
                setTimeout(() => onChange(deleted ? "deleted" : "changed", file), deleted ? 0 : SETTLE_MS)
            );
        };
        // watchFile's own first stat comes a moment later: a file replaced meanwhile would be its
        // baseline and never reported. So the stat at the start is checked again after one poll.
        const baseline = statOf(file);
        watchFile(file, { interval: POLL_MS, persistent: false }, listener);
        const recheck = setTimeout(() => {
            const now = statOf(file);
            if (baseline && now && now.ino !== baseline.ino) listener(now, baseline);
        }, POLL_MS);
        recheck.unref();
        timers.set(`${file}#recheck`, recheck);
        return [file, listener] as const;
    });
    return () => {
        for (const [file, listener] of listeners) unwatchFile(file, listener);
        for (const timer of timers.values()) clearTimeout(timer);
    };
}

function statOf(file: string): Stats | undefined {
    try {
        return statSync(file);
    } catch {
        return undefined;
    }
}
