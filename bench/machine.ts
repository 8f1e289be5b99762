/**
 * The machine's limit for decoding: a token must read the weights it uses, so decode tokens/s can
 * not exceed memory bandwidth / bytes read per token. Both halves measured here: the bandwidth of
 * one thread copying a buffer far larger than the caches (the server decodes with one thread on
 * 2 cores), and the bytes a token reads at a given k, from the GGUF's own tensor table.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";

/** The commit a benchmark's figures were made on, marked when tracked files had uncommitted changes ("unknown" outside git). */
export function sourceCommit(): string {
    const git = (args: string[]) =>
        execFileSync("git", args, { cwd: path.resolve(import.meta.dirname, ".."), encoding: "utf8" }).trim();
    try {
        const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
        return git(["rev-parse", "--short", "HEAD"]) + (dirty ? " with uncommitted changes" : "");
    } catch {
        return "unknown";
    }
}

/** Bytes per second one thread moves (read + written) copying 512 MiB, best of 5. */
export function copyBandwidth(): number {
    const size = 512 * 2 ** 20;
    const src = Buffer.alloc(size, 1),
        dst = Buffer.alloc(size);
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        src.copy(dst);
        best = Math.min(best, performance.now() - t0);
    }
    return (2 * size) / (best / 1000);
}

/**
 * Weight bytes one decoded token reads at `k` experts: every tensor in full except the expert
 * tensors (`*_exps`, k of their experts) and the token embedding (one row; unless the output layer
 * shares it).
 */
export async function bytesPerToken(modelPath: string, k: number): Promise<{ bytes: number; expertCount: number }> {
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: true });
    const tensors = [...(info.fullTensorInfo ?? [])].sort((a, b) => Number(a.offset) - Number(b.offset));
    const meta = info.architectureMetadata as { expert_count?: number };
    const expertCount = meta.expert_count ?? 0;
    const hasOutput = tensors.some((t) => t.name === "output.weight");
    let bytes = 0;
    tensors.forEach((t, i) => {
        const next = tensors[i + 1];
        const size = next ? Number(next.offset) - Number(t.offset) : Number(tensorBytes(t));
        if (/_exps\./.test(t.name) && expertCount > 0) bytes += (size * Math.min(k, expertCount)) / expertCount;
        else if (t.name === "token_embd.weight" && hasOutput) bytes += size / Number(t.dimensions.at(-1));
        else bytes += size;
    });
    return { bytes, expertCount };
}

/** The last tensor's size, which no next offset bounds: elements x the type's bytes per element. */
function tensorBytes(t: { dimensions: readonly (number | bigint)[]; ggmlType: number }): number {
    const elements = t.dimensions.reduce<number>((a, d) => a * Number(d), 1);
    // block sizes of the types the project's models use (F32, F16, Q8_0, Q4_K, Q6_K)
    const perElement: Record<number, number> = { 0: 4, 1: 2, 8: 34 / 32, 12: 144 / 256, 14: 210 / 256 };
    return elements * (perElement[t.ggmlType] ?? 1);
}
