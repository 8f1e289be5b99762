// Builds node-llama-cpp's addon with the project's MoE changes (native/patches), offline, from the
// llama.cpp git bundle inside the pinned node-llama-cpp package, and caches the result by the hash
// of the patches, so a second install (or a fresh clone on the same machine) costs a copy.
//
//   node native/build.mjs              build or restore; fail loudly
//   node native/build.mjs --optional   the same, but a failure only warns (npm install: the server
//                                      then runs on the prebuilt binaries, see Engine's fallback)
//   node native/build.mjs --force      rebuild even when the cache has this hash
//
// After it, `getLlama({ build: "never" })` loads the patched build (node-llama-cpp prefers a local
// build to its prebuilt binaries); the server checks for the patched methods before using them.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { ensureBuildTools, quietBuild } from "../scripts/buildLog.mjs";

const root = path.resolve(import.meta.dirname, "..");
const optional = process.argv.includes("--optional");
const force = process.argv.includes("--force");
const patchesDir = path.join(root, "native", "patches");
const STAMP = "moe-pilot-native.json";
/** node-llama-cpp's mark of a finished local build, next to its Release folder. */
const DONE = "buildDone.status";

function main() {
    // the package's `exports` hide package.json: find its folder the way Node resolves it
    const nlc = createRequire(path.join(root, "package.json"))
        .resolve.paths("node-llama-cpp")
        .map((dir) => path.join(dir, "node-llama-cpp"))
        .find((dir) => existsSync(path.join(dir, "package.json")));
    if (!nlc) throw new Error("node-llama-cpp is not installed: run npm install");
    const version = JSON.parse(readFileSync(path.join(nlc, "package.json"), "utf8")).version;
    const pinned = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).dependencies["node-llama-cpp"];
    if (version !== pinned)
        throw new Error(`node-llama-cpp ${version} is installed, the patches are for ${pinned}: run npm install`);

    try {
        patchPackage(nlc);
    } catch (e) {
        // not fatal: drafts are then verified one token deep (slower speculation, the same output)
        console.warn(`native: node-llama-cpp's JavaScript could not be patched: ${e instanceof Error ? e.message : e}`);
    }

    const llamaDir = path.join(nlc, "llama");
    const patches = listPatches();
    const hash = createHash("sha256").update(`node-llama-cpp@${version}\n`);
    for (const p of patches) hash.update(`${p.target}/${p.name}\n`).update(readFileSync(p.file));
    const digest = hash.digest("hex").slice(0, 16);

    const installed = readInstalled(llamaDir);
    if (!force && installed?.hash === digest) {
        console.log(`native: patched llama.cpp build ${digest} is installed`);
        return;
    }

    const cacheDir = path.join(
        process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
        "moe-pilot",
        "native",
        digest
    );
    if (!force && existsSync(path.join(cacheDir, STAMP)) && cacheComplete(cacheDir)) {
        restore(cacheDir, llamaDir);
        console.log(`native: restored patched build ${digest} from ${cacheDir}`);
        return;
    }

    const env = { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true" };
    // node-llama-cpp's scripts read npm's environment; `npm install` passes its own, which can name
    // another Node (same reason as scripts/code-server.sh)
    for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];

    // About 3 minutes on 2 cores, less with ccache; the compiler's output goes to the log.
    // npm install (--optional) adds only a build tool; a failure there falls back to the stock binaries.
    ensureBuildTools("the native MoE runtime build", optional ? ["make"] : ["cmake", "g++", "git", "make"]);
    quietBuild(`native MoE runtime (llama.cpp with ${patches.length} patches, ${digest})`, "native", (run) => {
        const nlcCli = (args) =>
            run(process.execPath, [path.join(nlc, "dist", "cli", "cli.js"), ...args], { cwd: root, env });

        // The addon sources are files of the installed package: patch a pristine copy every time.
        const addonDir = path.join(llamaDir, "addon");
        const pristine = path.join(llamaDir, "addon.pristine");
        if (existsSync(pristine)) {
            rmSync(addonDir, { recursive: true, force: true });
            cpSync(pristine, addonDir, { recursive: true });
        } else cpSync(addonDir, pristine, { recursive: true });

        // A fresh clone of the bundled llama.cpp (node-llama-cpp applies its own patches to it).
        nlcCli(["source", "download", "--gpu", "false", "--skipBuild", "--noUsageExample"]);
        for (const p of patches) {
            const cwd = p.target === "addon" ? addonDir : path.join(llamaDir, "llama.cpp");
            // The addon folder sits inside the project's own git work tree (node_modules), where
            // `git apply` would silently skip paths it does not track: keep git from looking above it.
            const gitEnv = { ...env, GIT_CEILING_DIRECTORIES: path.dirname(cwd) };
            run("git", ["apply", "--whitespace=nowarn", p.file], { cwd, env: gitEnv });
            // and prove it: the reverse applies only if every hunk is in
            run("git", ["apply", "--reverse", "--check", p.file], { cwd, env: gitEnv });
        }
        nlcCli(["source", "build", "--gpu", "false", "--noUsageExample"]);
    });

    const release = releaseDir(llamaDir);
    writeFileSync(
        path.join(release, STAMP),
        JSON.stringify(
            { hash: digest, patches: patches.map((p) => `${p.target}/${p.name}`), builtAt: new Date().toISOString() },
            null,
            2
        ) + "\n"
    );
    save(llamaDir, cacheDir);
    console.log(`native: cached in ${cacheDir}`);
}

/** native/patches/<target>/*.patch in name order; target is `llama.cpp` or `addon`. */
/**
 * node-llama-cpp's own JavaScript (patches/node-llama-cpp): applied to the installed package in
 * place, once (a patch whose reverse applies is in already). No build: the prebuilt binaries get
 * it too, so it is applied before the native build is tried, and is not part of its hash.
 */
function patchPackage(nlc) {
    const dir = path.join(patchesDir, "node-llama-cpp");
    if (!existsSync(dir)) return;
    // the package sits inside the project's git work tree (node_modules): keep git from looking above it
    const options = { cwd: nlc, env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(nlc) }, stdio: "pipe" };
    for (const name of readdirSync(dir)
        .filter((n) => n.endsWith(".patch"))
        .sort()) {
        const file = path.join(dir, name);
        try {
            execFileSync("git", ["apply", "--reverse", "--check", file], options);
            continue; // in already
        } catch {
            execFileSync("git", ["apply", "--whitespace=nowarn", file], options);
            console.log(`native: applied ${name} to node-llama-cpp`);
        }
    }
}

function listPatches() {
    const out = [];
    for (const target of ["llama.cpp", "addon"]) {
        const dir = path.join(patchesDir, target);
        if (!existsSync(dir)) continue;
        for (const name of readdirSync(dir)
            .filter((n) => n.endsWith(".patch"))
            .sort())
            out.push({ target, name, file: path.join(dir, name) });
    }
    return out;
}

function releaseDir(llamaDir) {
    const { folderName } = JSON.parse(readFileSync(path.join(llamaDir, "lastBuild.json"), "utf8"));
    return path.join(llamaDir, "localBuilds", folderName, "Release");
}

function readInstalled(llamaDir) {
    try {
        if (!existsSync(path.join(path.dirname(releaseDir(llamaDir)), DONE))) return undefined;
        return JSON.parse(readFileSync(path.join(releaseDir(llamaDir), STAMP), "utf8"));
    } catch {
        return undefined;
    }
}

/**
 * The cache holds what loading needs (not the build tree): the Release folder, lastBuild.json and
 * the build folder's `buildDone.status`, without which node-llama-cpp passes over a local build.
 */
function save(llamaDir, cacheDir) {
    const tmp = `${cacheDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const { folderName } = JSON.parse(readFileSync(path.join(llamaDir, "lastBuild.json"), "utf8"));
    mkdirSync(tmp, { recursive: true });
    cpSync(path.join(llamaDir, "lastBuild.json"), path.join(tmp, "lastBuild.json"));
    cpSync(releaseDir(llamaDir), path.join(tmp, folderName, "Release"), { recursive: true });
    cpSync(path.join(llamaDir, "localBuilds", folderName, DONE), path.join(tmp, folderName, DONE));
    cpSync(path.join(releaseDir(llamaDir), STAMP), path.join(tmp, STAMP));
    rmSync(cacheDir, { recursive: true, force: true });
    renameSync(tmp, cacheDir); // whole or absent: a build killed half-way is never restored
}

/** Caches written before they kept buildDone.status are rebuilt, not restored half. */
function cacheComplete(cacheDir) {
    const { folderName } = JSON.parse(readFileSync(path.join(cacheDir, "lastBuild.json"), "utf8"));
    return existsSync(path.join(cacheDir, folderName, DONE));
}

function restore(cacheDir, llamaDir) {
    const { folderName } = JSON.parse(readFileSync(path.join(cacheDir, "lastBuild.json"), "utf8"));
    const target = path.join(llamaDir, "localBuilds", folderName, "Release");
    rmSync(target, { recursive: true, force: true });
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(path.join(cacheDir, folderName, "Release"), target, { recursive: true });
    cpSync(path.join(cacheDir, folderName, DONE), path.join(path.dirname(target), DONE));
    cpSync(path.join(cacheDir, "lastBuild.json"), path.join(llamaDir, "lastBuild.json"));
}

try {
    main();
} catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!optional) {
        console.error(`native: ${message}`);
        process.exit(1);
    }
    console.warn(
        `native: the patched llama.cpp could not be built (${message}).\n` +
            "native: the server will use node-llama-cpp's prebuilt binaries (no per-context expert count, no routing trace).\n" +
            "native: install cmake, g++ and git, then run `node native/build.mjs`."
    );
}
