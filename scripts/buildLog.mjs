// Quiet builds: a build's whole output goes to a log file under .cache/logs/; the terminal gets a
// line when it starts and one when it ends (what, how long, where the log is), and on failure
// the log's last 30 lines and its path. Used by native/build.mjs (the MoE runtime),
// native/llamaTools.ts (llama-server, llama-gguf-split); scripts/code-server.sh does the same.
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import path from "node:path";

const LOGS = path.resolve(import.meta.dirname, "..", ".cache", "logs");
const TAIL_LINES = 30;

/**
 * Runs `build(run)` with its commands' output in `.cache/logs/<name>.log`.
 * @param {string} what what is built, for the two lines printed
 * @param {string} name the log's file name, without `.log`
 * @param {(run: (cmd: string, args: string[], options?: import("node:child_process").ExecFileSyncOptions) => void) => void} build
 */
export function quietBuild(what, name, build) {
    mkdirSync(LOGS, { recursive: true });
    const log = path.join(LOGS, `${name}.log`);
    const fd = openSync(log, "w");
    const started = Date.now();
    console.log(`${what}: building (log: ${path.relative(process.cwd(), log) || log})`);
    const run = (cmd, args, options = {}) => void execFileSync(cmd, args, { ...options, stdio: ["ignore", fd, fd] });
    try {
        build(run);
    } catch (e) {
        closeSync(fd);
        const tail = readFileSync(log, "utf8").trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
        console.error(`${tail}\n${what}: FAILED after ${seconds(started)} s; the whole log: ${log}`);
        throw e;
    }
    closeSync(fd);
    console.log(`${what}: built in ${seconds(started)} s (log: ${log})`);
}

const seconds = (since) => Math.round((Date.now() - since) / 1000);

/**
 * The tools a CMake build of llama.cpp needs, installed the project's one way
 * (scripts/debianPackages.sh) when missing, or its one sentence thrown. `make` stands for a
 * build tool (ninja does as well): a Debian with only cmake and g++ may have neither.
 * @param {string} what what needs them, for the line printed
 * @param {("cmake" | "g++" | "git" | "make")[]} tools
 */
export function ensureBuildTools(what, tools) {
    const missing = tools.filter((t) => (t === "make" ? !hasCommand("make") && !hasCommand("ninja") : !hasCommand(t)));
    if (missing.length === 0) return;
    execFileSync("bash", [path.join(import.meta.dirname, "debianPackages.sh"), what, ...missing], { stdio: "inherit" });
}

/** Whether `name` is a command on the PATH. */
export function hasCommand(name) {
    try {
        execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}
