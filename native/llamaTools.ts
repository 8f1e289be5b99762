/**
 * Stock llama.cpp tools built from the same source node-llama-cpp ships (its git bundle, offline),
 * without the project's patches except the one that lets ggml run at all on a CPU with AMX
 * (patches/llama.cpp/0003-amx-tile-config.patch: gcc 12 otherwise builds an AMX kernel that dies
 * of SIGILL), with the CPU options node-llama-cpp's own build uses (Release, GGML_NATIVE, OpenMP):
 * - `llama-server`: the performance peer (bench/peer/) and the remote engine the tests talk to
 *   (test/server/remote.test.ts);
 * - `llama-gguf-split`: splits a model into parts the way the hub serves big ones (download tests).
 *
 * Cached by the bundle's hash in ~/.cache/moe-pilot/llama-tools/<hash>/ (static binaries): the
 * first run costs about 5 minutes on 2 cores, later runs nothing.
 *
 *   npx tsx native/llamaTools.ts        builds (or finds) them and prints their folder
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { ensureBuildTools, hasCommand, quietBuild } from "../scripts/buildLog.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOOLS = ["llama-server", "llama-gguf-split"] as const;
/** Upstream bug fixes the stock tools get too: they change what runs, not how fast. */
const FIXES = [path.join(ROOT, "native", "patches", "llama.cpp", "0003-amx-tile-config.patch")];
export type LlamaTool = (typeof TOOLS)[number];

function nodeLlamaCppDir(): string {
    const dir = createRequire(path.join(ROOT, "package.json"))
        .resolve.paths("node-llama-cpp")!
        .map((d) => path.join(d, "node-llama-cpp"))
        .find((d) => existsSync(path.join(d, "package.json")));
    if (!dir) throw new Error("node-llama-cpp is not installed: run npm install");
    return dir;
}

/** The path of a built stock llama.cpp tool, building the tools first if the cache has none for this source. */
export function llamaTool(tool: LlamaTool, log: (line: string) => void = console.log): string {
    return path.join(llamaToolsDir(log), tool);
}

function llamaToolsDir(log: (line: string) => void): string {
    const bundle = path.join(nodeLlamaCppDir(), "llama", "gitRelease.bundle");
    if (!existsSync(bundle)) throw new Error(`no llama.cpp source bundle at ${bundle}`);
    const hash = createHash("sha256").update(readFileSync(bundle));
    for (const fix of FIXES) hash.update(readFileSync(fix));
    const digest = hash.digest("hex").slice(0, 16);
    const cacheRoot = path.join(
        process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
        "moe-pilot",
        "llama-tools"
    );
    const dir = path.join(cacheRoot, digest);
    if (TOOLS.every((t) => existsSync(path.join(dir, t)))) return dir;

    const work = path.join(cacheRoot, `build-${digest}`);
    const build = path.join(work, "build");
    // About 5 minutes on 2 cores, once per llama.cpp source.
    ensureBuildTools("the llama.cpp tools build", ["cmake", "g++", "git", "make"]);
    quietBuild(`llama.cpp tools (${TOOLS.join(", ")}, source ${digest})`, "llama-tools", (run) => {
        const src = path.join(work, "llama.cpp");
        if (!existsSync(path.join(src, "CMakeLists.txt"))) {
            rmSync(src, { recursive: true, force: true });
            mkdirSync(work, { recursive: true });
            run("git", ["clone", "--quiet", bundle, src]);
            for (const fix of FIXES) run("git", ["apply", "--whitespace=nowarn", fix], { cwd: src });
        }
        const ccache = hasCommand("ccache")
            ? ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
            : [];
        const ninja = hasCommand("ninja") ? ["-G", "Ninja"] : [];
        run("cmake", [
            "-S",
            src,
            "-B",
            build,
            ...ninja,
            ...ccache,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBUILD_SHARED_LIBS=OFF",
            "-DGGML_NATIVE=ON",
            "-DGGML_OPENMP=ON",
            "-DLLAMA_CURL=OFF",
            "-DLLAMA_OPENSSL=OFF",
            "-DLLAMA_BUILD_SERVER=ON",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF"
        ]);
        run("cmake", ["--build", build, "--target", ...TOOLS, "-j", String(os.availableParallelism())]);
    });
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const tool of TOOLS) cpSync(path.join(build, "bin", tool), path.join(tmp, tool));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir); // whole or absent
    rmSync(work, { recursive: true, force: true });
    log(`llama.cpp tools cached in ${dir}`);
    return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(llamaToolsDir(console.log));
