import type { ExecFileSyncOptions } from "node:child_process";

export function quietBuild(
    what: string,
    name: string,
    build: (run: (cmd: string, args: string[], options?: ExecFileSyncOptions) => void) => void
): void;

export function hasCommand(name: string): boolean;

export function ensureBuildTools(what: string, tools: ("cmake" | "g++" | "git" | "make")[]): void;
