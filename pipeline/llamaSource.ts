/**
 * Access to the exact llama.cpp source node-llama-cpp was built from. node-llama-cpp ships it
 * as a git bundle inside its package, so this works offline: the bundle is fetched once into a
 * bare repository under `.cache/` and files are read from it with `git show`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = path.resolve(import.meta.dirname, "..");
const bareRepo = path.join(projectRoot, ".cache", "llama.cpp.git");

/** Path of node-llama-cpp's git bundle of its llama.cpp source. */
export function llamaCppBundlePath(): string {
    // The package's `exports` hide package.json; its entry point sits in `dist/`.
    const entry = fileURLToPath(import.meta.resolve("node-llama-cpp"));
    return path.join(path.dirname(entry), "..", "llama", "gitRelease.bundle");
}

function ensureBareRepo() {
    if (existsSync(path.join(bareRepo, "refs", "heads", "bundled"))) return;
    mkdirSync(bareRepo, { recursive: true });
    execFileSync("git", ["init", "-q", "--bare", bareRepo]);
    execFileSync("git", ["-C", bareRepo, "fetch", "-q", llamaCppBundlePath(), "HEAD:refs/heads/bundled"]);
}

/** The bytes of `relativePath` in the bundled llama.cpp source tree. */
export function readLlamaCppFile(relativePath: string): Buffer {
    ensureBareRepo();
    return execFileSync("git", ["-C", bareRepo, "show", `bundled:${relativePath}`], { maxBuffer: 256 * 1024 * 1024 });
}
