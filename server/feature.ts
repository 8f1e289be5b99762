/**
 * A server feature (the shape Tabby's agent uses): it declares its capabilities in `initialize`,
 * registers its handlers, and cleans up on shutdown. `main.ts` only wires features together.
 */
import type { ClientCapabilities, InitializeParams, ServerCapabilities } from "vscode-languageserver";

export interface Feature {
    initialize(clientCapabilities: ClientCapabilities, params: InitializeParams): ServerCapabilities;
    initialized?(): void | Promise<void>;
    shutdown?(): Promise<void>;
}
