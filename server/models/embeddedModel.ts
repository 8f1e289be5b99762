/**
 * The embedded default model: what the server loads when the user has picked nothing else.
 *
 * A tiny MoE code model trained by the project's own pipeline (pipeline/, see docs/MODEL_CARD.md),
 * shipped in the repository and the VSIX. It is a demo: the status bar says so. Its SHA-256 sits
 * beside it and is checked before every load, so a damaged copy is refused with a clear message.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ModelFileError } from "../errors";

export const EMBEDDED_MODEL_FILE = path.join("models", "embedded", "moe-pilot-demo.gguf");

/**
 * `auto`'s routing for completion on the embedded model: adaptive routing capped at its trained
 * k=2, at the gate mass `npm run bench:experts` found fastest while the held-out bits/byte stays
 * within 1% of the trained k's (docs/bench-experts.md; the bench says so when a retrained model
 * calls for another value).
 */
export const EMBEDDED_COMPLETION_ADAPTIVE = { p: 0.7, kMin: 1 } as const;

/** The measured adaptive routing of a file, when it is the embedded model (by its place in the extension). */
export function embeddedAdaptive(modelPath: string): typeof EMBEDDED_COMPLETION_ADAPTIVE | undefined {
    return path.resolve(modelPath).endsWith(path.sep + EMBEDDED_MODEL_FILE) ? EMBEDDED_COMPLETION_ADAPTIVE : undefined;
}

/** `extensionRoot` is the folder holding `dist/` (the extension, or this repository). */
export function embeddedModelPath(extensionRoot: string): string {
    return path.join(extensionRoot, EMBEDDED_MODEL_FILE);
}

export function isEmbeddedModel(modelPath: string, extensionRoot: string): boolean {
    return path.resolve(modelPath) === path.resolve(embeddedModelPath(extensionRoot));
}

async function sha256(file: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

/** Refuses an embedded model whose bytes are not the ones that were shipped. */
export async function verifyEmbeddedModel(modelPath: string): Promise<void> {
    const expected = (await readFile(`${modelPath}.sha256`, "utf8").catch(() => "")).split(/\s+/)[0];
    if (!expected)
        throw new ModelFileError("checksum-mismatch", modelPath, `The embedded model's checksum file (${path.basename(modelPath)}.sha256) is missing. Reinstall the extension.`);
    const actual = await sha256(modelPath);
    if (actual !== expected)
        throw new ModelFileError("checksum-mismatch", modelPath, `The embedded model is damaged (SHA-256 ${actual.slice(0, 12)}… instead of ${expected.slice(0, 12)}…). Reinstall the extension.`);
}
