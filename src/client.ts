/**
 * The LanguageClient that starts the server (dist/server.js, a Node process of its own, over IPC)
 * and adapts VS Code to LSP: document sync and inline completion are vscode-languageclient's
 * standard features; the status notification is MoE Pilot's own.
 */
import type * as vscode from "vscode";
import {
    ErrorAction,
    type ErrorHandler,
    type ErrorHandlerResult,
    LanguageClient,
    type LanguageClientOptions,
    type ServerOptions,
    TransportKind
} from "vscode-languageclient/node";
import type { InitializationOptions } from "../server/protocol";
import { Config } from "./config";

/** `remoteApiKey` is read at each (re)start: the key from the editor's secret storage, sent over the private pipe, never in settings. */
export function createLanguageClient(
    context: vscode.ExtensionContext,
    log: vscode.LogOutputChannel,
    errorHandler: ErrorHandler,
    remoteApiKey: () => string
): LanguageClient {
    const module = context.asAbsolutePath("dist/server.js");
    const serverOptions: ServerOptions = {
        run: { module, transport: TransportKind.ipc },
        debug: { module, transport: TransportKind.ipc, options: { execArgv: ["--nolazy", "--inspect=6009"] } }
    };
    const initializationOptions = (): InitializationOptions => ({
        extensionRoot: context.extensionPath,
        settings: Config.serverSettings() as InitializationOptions["settings"],
        remoteApiKey: remoteApiKey(),
        // The workspace index's store: VS Code's storage for this workspace (none for a window without folders).
        storagePath: context.storageUri?.fsPath,
        definitions: true
    });
    const clientOptions: LanguageClientOptions = {
        documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
        initializationOptions,
        outputChannel: log,
        errorHandler,
        // The status bar and one notification tell the user about failures; no extra pop-ups.
        initializationFailedHandler: (error: unknown) => {
            log.error(`server initialization failed: ${String(error)}`);
            return false;
        }
    };
    return new LanguageClient("moePilot", "MoE Pilot", serverOptions, clientOptions);
}

/** Errors on the connection itself: keep going a few times, then shut the connection down (the close handler decides about restarts). */
export function connectionErrorResult(count: number | undefined): ErrorHandlerResult {
    return { action: (count ?? 1) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
}
