/**
 * Whether the project's native MoE runtime (native/build.mjs) is installed, for the tests that
 * exercise it: they skip with this sentence when it is not (npm install builds it where cmake,
 * g++ and git are present; without them the server runs on node-llama-cpp's stock binaries, the
 * README's supported path).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const LLAMA = path.resolve(import.meta.dirname, "..", "node_modules", "node-llama-cpp", "llama");

function installed(): boolean {
    try {
        const { folderName } = JSON.parse(readFileSync(path.join(LLAMA, "lastBuild.json"), "utf8")) as {
            folderName: string;
        };
        const build = path.join(LLAMA, "localBuilds", folderName);
        return (
            existsSync(path.join(build, "buildDone.status")) &&
            existsSync(path.join(build, "Release", "moe-pilot-native.json"))
        );
    } catch {
        return false;
    }
}

/** `false` when the native runtime is installed; else why the test skips. */
export const withoutNativeBuild: string | false = installed()
    ? false
    : "the native MoE runtime is not built (it needs cmake, g++ and git; build it with npm run native)";
