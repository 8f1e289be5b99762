// Bundles the extension client, the language server (and later the webview UI).
//   node esbuild.mjs [--watch] [--production]
import { cpSync, mkdirSync } from "node:fs";
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const production = process.argv.includes("--production");

const common = {
    bundle: true,
    platform: "node",
    target: "node20",
    sourcemap: production ? false : "linked",
    minify: production,
    // Warnings and errors only; one line at the end says what was built.
    logLevel: "warning"
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
    {
        // The extension host loads extensions with require(): CommonJS, and `.cjs` because the package is ESM.
        ...common,
        entryPoints: ["src/main.ts"],
        outfile: "dist/extension.cjs",
        format: "cjs",
        external: ["vscode"],
        // ESM builds first: jsonc-parser's UMD build loads its parts with a require() bundling cannot follow.
        mainFields: ["module", "main"]
    },
    {
        // node-llama-cpp is ESM with top-level await and native binaries: it stays an external import.
        ...common,
        entryPoints: ["server/main.ts"],
        outfile: "dist/server.js",
        format: "esm",
        // classic-level (LevelDB) is native too; @vscode/tree-sitter-wasm finds its WebAssembly files beside itself.
        external: ["node-llama-cpp", "classic-level", "@vscode/tree-sitter-wasm"],
        // The bundled CommonJS dependencies (vscode-languageserver) call require() for Node built-ins.
        banner: {
            js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
        }
    },
    {
        // The chat panel's UI runs in the webview: a browser page.
        ...common,
        entryPoints: ["media/chat/main.ts"],
        outfile: "dist/webview.js",
        format: "iife",
        platform: "browser",
        target: "es2022"
    }
];

// The codicon font, served to the webview from dist/ (its localResourceRoots are media/ and dist/).
mkdirSync("dist/codicons", { recursive: true });
for (const file of ["codicon.css", "codicon.ttf"])
    cpSync(`node_modules/@vscode/codicons/dist/${file}`, `dist/codicons/${file}`);

if (watch) {
    for (const options of builds) await (await esbuild.context(options)).watch();
} else {
    const started = Date.now();
    await Promise.all(builds.map((options) => esbuild.build(options)));
    console.log(`built ${builds.map((b) => b.outfile).join(", ")} in ${Date.now() - started} ms`);
}
