/**
 * A real llama-server (built from the bundled llama.cpp, native/llamaTools.ts) on 127.0.0.1, for
 * the remote-engine tests and benchmarks that measure through it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { llamaTool } from "../../native/llamaTools";
import { ROOT } from "./lspClient";

export const EMBEDDED = path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf");

export async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

/** A real llama-server with the embedded model; resolves when /health says it is ready. */
export async function startLlamaServer(
    extra: string[] = [],
    model = EMBEDDED
): Promise<{ url: string; process: ChildProcess }> {
    const port = await freePort();
    const child = spawn(
        llamaTool("llama-server", () => {}),
        ["-m", model, "--host", "127.0.0.1", "--port", String(port), "-c", "2048", "-t", "1", "--no-webui", ...extra],
        { stdio: "ignore" }
    );
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 600; i++) {
        if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}`);
        const ok = await fetch(`${url}/health`).then(
            (r) => r.ok,
            () => false
        );
        if (ok) return { url, process: child };
        await new Promise((r) => setTimeout(r, 100));
    }
    child.kill();
    throw new Error("llama-server did not become ready");
}

export async function stopProcess(child: ChildProcess | undefined) {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
}
