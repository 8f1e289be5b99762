/**
 * The embedded default model: what the server loads when the user has picked nothing else.
 *
 * Until the project's trained demo model lands, this is the random-weight test MoE that
 * `npm run models` writes (pipeline/makeTestModel.ts). It proves the plumbing; its completions are
 * noise, and the status bar says it is the embedded demo.
 */
import path from "node:path";

export const EMBEDDED_MODEL_FILE = path.join("models", "test", "moe-pilot-test-moe.gguf");

/** `extensionRoot` is the folder holding `dist/` (the extension, or this repository). */
export function embeddedModelPath(extensionRoot: string): string {
    return path.join(extensionRoot, EMBEDDED_MODEL_FILE);
}

export function isEmbeddedModel(modelPath: string, extensionRoot: string): boolean {
    return path.resolve(modelPath) === path.resolve(embeddedModelPath(extensionRoot));
}
