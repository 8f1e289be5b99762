/**
 * Errors the engine reports to the user. Each carries a message written for the person who has
 * to act on it, and a `problem` code the client can branch on without matching text.
 */
export type ModelFileProblem =
    | "not-found"
    | "not-a-file"
    | "not-gguf"
    | "truncated"
    | "unsupported-architecture"
    | "checksum-mismatch"
    | "load-failed";

export class ModelFileError extends Error {
    override readonly name = "ModelFileError";
    constructor(
        readonly problem: ModelFileProblem,
        readonly path: string,
        message: string,
        options?: { cause?: unknown }
    ) {
        super(message, options);
    }
}

/** Whether `e` is the rejection of an aborted signal. Cancellation is not an error: callers log it at debug level. */
export function isAbort(e: unknown): boolean {
    return e instanceof Error && (e.name === "AbortError" || e.name === "CancellationError");
}

export function errorMessage(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}
