import type { ExecFileSyncOptions } from "node:child_process";

export function quietBuild(
    what: string,
    name: string,
    build: (run: (cmd: string, args: string[], options?: ExecFileSyncOptions) => void) => void
): void;

export function ensureBuildTool(what: string): void;
