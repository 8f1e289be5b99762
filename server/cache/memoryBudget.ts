/**
 * The memory the model's weights may keep resident (`moePilot.memory.budget`). `auto` is three
 * quarters of what is available when the model loads: the machine's MemAvailable (free memory plus
 * reclaimable cache), or less when the server runs in a memory cgroup with a limit (a container,
 * systemd's MemoryMax): the limit minus what the group uses besides the page cache.
 */
import { readFileSync } from "node:fs";
import os from "node:os";

const AUTO_SHARE = 0.75;

export function memoryBudgetBytes(setting: "auto" | number): { bytes: number; source: string } {
    if (setting !== "auto") return { bytes: setting * 2 ** 20, source: `moePilot.memory.budget = ${setting} MiB` };
    const { bytes, inCgroup } = availableMemory();
    return {
        bytes: Math.floor(bytes * AUTO_SHARE),
        source: `auto: ${Math.round(AUTO_SHARE * 100)}% of ${(bytes / 2 ** 30).toFixed(1)} GiB available${inCgroup ? " in the server's memory cgroup" : ""}`
    };
}

/** Memory this process could use now: MemAvailable, or the room under its memory cgroup's limit when that is less. */
export function availableMemory(): { bytes: number; inCgroup: boolean } {
    const available = memAvailable();
    const group = cgroupRoom();
    return group !== undefined && group < available
        ? { bytes: group, inCgroup: true }
        : { bytes: available, inCgroup: false };
}

function memAvailable(): number {
    try {
        const kb = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1];
        if (kb) return Number(kb) * 1024;
    } catch {
        /* not Linux */
    }
    return os.freemem();
}

/** Room left under this process's memory cgroup limit (v2 or v1), if it has one. */
function cgroupRoom(): number | undefined {
    try {
        const lines = readFileSync("/proc/self/cgroup", "utf8").split("\n");
        const v2 = lines.find((l) => l.startsWith("0::"))?.slice(3);
        const v1 = lines.find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l))?.split(":")[2];
        const candidates: [string, string, string][] = [];
        if (v1 !== undefined)
            candidates.push([
                `/sys/fs/cgroup/memory${v1}/memory.limit_in_bytes`,
                `/sys/fs/cgroup/memory${v1}/memory.usage_in_bytes`,
                `/sys/fs/cgroup/memory${v1}/memory.stat`
            ]);
        if (v2 !== undefined)
            candidates.push([
                `/sys/fs/cgroup${v2}/memory.max`,
                `/sys/fs/cgroup${v2}/memory.current`,
                `/sys/fs/cgroup${v2}/memory.stat`
            ]);
        for (const [limitFile, usageFile, statFile] of candidates) {
            let limitText: string;
            try {
                limitText = readFileSync(limitFile, "utf8").trim();
            } catch {
                continue;
            }
            if (limitText === "max" || Number(limitText) >= 2 ** 60) continue;
            const usage = Number(readFileSync(usageFile, "utf8").trim());
            const stat = readFileSync(statFile, "utf8");
            const cache = Number(/^(?:total_cache|file) (\d+)$/m.exec(stat)?.[1] ?? 0);
            return Math.max(0, Number(limitText) - (usage - cache));
        }
    } catch {
        /* no cgroup information */
    }
    return undefined;
}
