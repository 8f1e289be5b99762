/**
 * The client's state in one place (rust-analyzer's `Ctx`): the language client, the status bar,
 * the log, and what happens when the server dies — restart with backoff, tell the user once,
 * and stop after a crash loop with a "Restart" action.
 */
import * as vscode from "vscode";
import {
    CloseAction,
    DidChangeConfigurationNotification,
    type ErrorHandler,
    type LanguageClient,
    State
} from "vscode-languageclient/node";
import {
    RemoteCredentialsNotification,
    StatusNotification,
    type StatusParams,
    StatusRequest
} from "../server/protocol";
import { answerDefinitions } from "./definitions";
import { connectionErrorResult, createLanguageClient } from "./client";
import { StatusBar } from "./status";

/** The SecretStorage key of the remote engine's API key. */
const REMOTE_API_KEY_SECRET = "moePilot.remote.apiKey";

/** Restart delays after consecutive crashes; a crash past the last one stops the restarts. */
const RESTART_BACKOFF_MS = [500, 2000, 5000, 10000] as const;
/** Crashes further apart than this do not count towards a loop. */
const CRASH_WINDOW_MS = 3 * 60 * 1000;

export class Ctx implements vscode.Disposable {
    readonly log = vscode.window.createOutputChannel("MoE Pilot", { log: true });
    readonly status = new StatusBar();
    private readonly statusEmitter = new vscode.EventEmitter<StatusParams>();
    /** The server's status changed (or the server went away: state "starting"). */
    readonly onDidChangeStatus = this.statusEmitter.event;
    private client?: LanguageClient;
    private crashes: number[] = [];
    private toldAboutCrash = false;
    private restartTimer?: NodeJS.Timeout;
    private stopping = false;

    constructor(private readonly context: vscode.ExtensionContext) {}

    /** The remote engine's API key, from SecretStorage (read before the server starts, kept in sync by setRemoteApiKey). */
    private remoteApiKey = "";

    async start() {
        const errorHandler: ErrorHandler = {
            error: (_error, _message, count) => connectionErrorResult(count),
            closed: () => this.onServerClosed()
        };
        this.remoteApiKey = (await this.context.secrets.get(REMOTE_API_KEY_SECRET)) ?? "";
        const client = createLanguageClient(this.context, this.log, errorHandler, () => this.remoteApiKey);
        this.client = client;
        client.onDidChangeState((e) => {
            if (e.newState === State.Running) this.status.setClientState("running");
        });
        answerDefinitions(client);
        await client.start();
        client.onNotification(StatusNotification.type, (s) => this.setServerStatus(s));
        this.setServerStatus(await client.sendRequest(StatusRequest.type));
    }

    /** Stores the remote engine's API key in the editor's secret storage and hands it to the running server. Empty removes it. */
    async setRemoteApiKey(key: string) {
        if (key) await this.context.secrets.store(REMOTE_API_KEY_SECRET, key);
        else await this.context.secrets.delete(REMOTE_API_KEY_SECRET);
        this.remoteApiKey = key;
        await this.running?.sendNotification(RemoteCredentialsNotification.type, { apiKey: key });
    }

    /** Asks the server to read the settings again (it pulls them with workspace/configuration). */
    async settingsChanged() {
        await this.running?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    }

    get running(): LanguageClient | undefined {
        return this.client?.state === State.Running ? this.client : undefined;
    }

    async restart() {
        clearTimeout(this.restartTimer);
        this.crashes = [];
        this.toldAboutCrash = false;
        this.status.setClientState("restarting", "Restarting the server…");
        const client = this.client;
        this.stopping = true;
        try {
            if (client && client.state !== State.Stopped) await client.stop();
        } finally {
            this.stopping = false;
        }
        await client?.start();
        if (client) this.setServerStatus(await client.sendRequest(StatusRequest.type));
    }

    private setServerStatus(status: StatusParams) {
        this.status.setServerStatus(status);
        this.statusEmitter.fire(status);
    }

    private onServerClosed() {
        this.setServerStatus({ state: "starting" });
        if (this.stopping) return { action: CloseAction.DoNotRestart, handled: true };
        const now = Date.now();
        this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
        const attempt = this.crashes.length;
        if (attempt > RESTART_BACKOFF_MS.length) {
            const message = `The MoE Pilot server crashed ${attempt} times in a few minutes and was not restarted again. The log may say why.`;
            this.log.error(message);
            this.status.setClientState("stopped", message);
            void vscode.window.showErrorMessage(message, "Restart", "Show Log").then((choice) => {
                if (choice === "Restart") void this.restart();
                if (choice === "Show Log") this.log.show();
            });
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const delay = RESTART_BACKOFF_MS[attempt - 1]!;
        this.log.warn(`server stopped unexpectedly; restarting in ${delay} ms (attempt ${attempt})`);
        this.status.setClientState("restarting", `The server stopped unexpectedly; restarting (attempt ${attempt}).`);
        if (!this.toldAboutCrash) {
            this.toldAboutCrash = true;
            void vscode.window
                .showWarningMessage("The MoE Pilot server stopped unexpectedly and is being restarted.", "Show Log")
                .then((choice) => {
                    if (choice) this.log.show();
                });
        }
        // vscode-languageclient restarts at once; a backoff needs the restart in our hands.
        this.restartTimer = setTimeout(() => {
            void this.client
                ?.start()
                .then(() => this.client!.sendRequest(StatusRequest.type))
                .then((s) => this.setServerStatus(s))
                .catch((e: unknown) => this.log.error(`restart failed: ${String(e)}`));
        }, delay);
        return { action: CloseAction.DoNotRestart, handled: true };
    }

    async dispose() {
        clearTimeout(this.restartTimer);
        this.stopping = true;
        await this.client?.dispose().catch(() => undefined);
        this.status.dispose();
        this.statusEmitter.dispose();
        this.log.dispose();
    }
}
