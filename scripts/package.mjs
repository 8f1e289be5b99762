// Makes the platform-specific VSIX (linux-x64): the bundles, the embedded model, and node-llama-cpp
// with only the binaries this platform runs (CPU). Bundled dependencies (the LSP libraries) are
// already inside dist/; node-llama-cpp stays a real package because it is native.
//   node scripts/package.mjs   (npm run package)
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { quietBuild } from "./buildLog.mjs";

const root = path.resolve(import.meta.dirname, "..");
const stage = path.join(root, ".cache", "package");
const target = "linux-x64";
const out = path.join(root, `moe-pilot-${target}.vsix`);

/** Packages node-llama-cpp may pull in that this platform's CPU build never loads. */
const NOT_SHIPPED = [/^@node-llama-cpp\/(?!linux-x64$)/, /^typescript$/, /^@typescript\//];

const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: "inherit" });

run(process.execPath, ["esbuild.mjs", "--production"]);

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
delete pkg.devDependencies;
delete pkg.scripts;
writeFileSync(path.join(stage, "package.json"), JSON.stringify(pkg, null, 2));
for (const file of [
    "README.md",
    "LICENSE",
    "dist/extension.cjs",
    "dist/server.js",
    "dist/webview.js",
    "dist/codicons",
    "media",
    "models/embedded/moe-pilot-demo.gguf",
    "models/embedded/moe-pilot-demo.gguf.sha256"
])
    cpSync(path.join(root, file), path.join(stage, file), { recursive: true });

const deps = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.includes(`${path.sep}node_modules${path.sep}`));
let copied = 0;
for (const dir of deps) {
    const name = dir.slice(dir.lastIndexOf(`node_modules${path.sep}`) + "node_modules/".length);
    if (NOT_SHIPPED.some((re) => re.test(name))) continue;
    cpSync(dir, path.join(stage, path.relative(root, dir)), { recursive: true, dereference: true });
    copied++;
}
// The llama.cpp source bundle, its clone and the build tree are for building (native/), not for
// running: only each local build's Release folder (the patched binaries) and its done mark ship.
const stagedLlama = path.join(stage, "node_modules", "node-llama-cpp", "llama");
for (const dir of ["gitRelease.bundle", "llama.cpp", "addon.pristine"])
    rmSync(path.join(stagedLlama, dir), { recursive: true, force: true });
const localBuilds = path.join(stagedLlama, "localBuilds");
for (const build of existsSync(localBuilds) ? readdirSync(localBuilds) : [])
    for (const entry of readdirSync(path.join(localBuilds, build)))
        if (entry !== "Release" && entry !== "buildDone.status")
            rmSync(path.join(localBuilds, build, entry), { recursive: true, force: true });
writeFileSync(path.join(stage, ".vscodeignore"), "**/*.map\n**/*.d.ts\n");

// vsce lists every file it packs: that goes to the log, and one line here.
quietBuild(`VSIX ${path.basename(out)} (${copied} packages)`, "package", (logged) =>
    logged(
        "npx",
        [
            "vsce",
            "package",
            "--target",
            target,
            "--skip-license",
            "--allow-missing-repository",
            "--no-rewrite-relative-links",
            "--out",
            out
        ],
        { cwd: stage }
    )
);
