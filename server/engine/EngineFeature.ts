/**
 * The engine's face to the client: loads with `$/progress`, reports state changes as
 * `moePilot/status/changed`, tells the user about failures once with `window/showMessage`, and
 * answers status, reload and routing requests. Features take the backend from here.
 */
import type { ClientCapabilities, Connection, ServerCapabilities } from "vscode-languageserver";
import type { Backend } from "../backend/Backend";
import type { Feature } from "../feature";
import { type Logger, tellUser } from "../log";
import {
    ReloadModelRequest,
    RemoteCredentialsNotification,
    type RoutingStatsResult,
    RoutingStatsRequest,
    type Settings,
    StatusNotification,
    type StatusParams,
    StatusRequest
} from "../protocol";
import { needsReload } from "../settings/settings";
import type { Engine } from "./Engine";
import { errorMessage } from "../errors";
import { SupersededLoadError } from "./loadLocalBackend";
import { type ModelFileChange, watchModelFiles } from "./modelFileWatch";

/** Speed figures reach the status bar at most this often. */
const SPEED_REPORT_INTERVAL_MS = 1000;

/**
 * How long a request the user made on purpose (an invoked completion, a chat message) waits for
 * a model that is still loading before it is answered without one. The embedded model loads in
 * under a second; a 30B model from a cold disk can take a minute. The client can cancel sooner.
 */
export const LOAD_WAIT_MS = 120_000;

export class EngineFeature implements Feature {
    private status: StatusParams = { state: "starting" };
    private workDoneProgress = false;
    private lastSpeedReport = 0;
    /** Stops watching the loaded model files (modelFileWatch.ts). */
    private unwatch?: () => void;
    /** Requests waiting for a load to end (whenSettled). */
    private readonly settledWaiters = new Set<() => void>();

    constructor(
        private readonly connection: Connection,
        private readonly engine: Engine,
        private readonly log: Logger,
        private readonly getSettings: () => Settings,
        private readonly getExtensionRoot: () => string
    ) {}

    initialize(capabilities: ClientCapabilities): ServerCapabilities {
        this.workDoneProgress = capabilities.window?.workDoneProgress === true;
        this.connection.onRequest(StatusRequest.type, () => this.status);
        this.connection.onRequest(RoutingStatsRequest.type, () => this.routingStats());
        this.connection.onNotification(RemoteCredentialsNotification.type, (p) => {
            this.engine.setApiKey(p?.apiKey);
            // A key may be what was missing.
            if (this.getSettings().remote.endpoint && this.status.state === "error") void this.load();
        });
        this.connection.onRequest(ReloadModelRequest.type, async () => {
            await this.load();
            return this.status;
        });
        return {};
    }

    get current(): StatusParams {
        return this.status;
    }

    /** The backend when the engine is ready, else undefined. */
    get backend(): Backend | undefined {
        return this.status.state === "ready" ? this.engine.backend : undefined;
    }

    /**
     * The backend once the engine is ready. While it starts or loads, waits for the load to end,
     * at most `timeoutMs` (then undefined, as after a failed load); an abort of `signal` rejects
     * with an AbortError.
     */
    async whenReady(signal: AbortSignal, timeoutMs = LOAD_WAIT_MS): Promise<Backend | undefined> {
        signal.throwIfAborted();
        if (this.status.state === "ready" || this.status.state === "error") return this.backend;
        await new Promise<void>((resolve, reject) => {
            const stopWaiting = () => {
                clearTimeout(timer);
                signal.removeEventListener("abort", aborted);
                this.settledWaiters.delete(done);
            };
            const done = () => {
                stopWaiting();
                resolve();
            };
            const aborted = () => {
                stopWaiting();
                reject(signal.reason instanceof Error ? signal.reason : new DOMException("aborted", "AbortError"));
            };
            const timer = setTimeout(done, timeoutMs);
            signal.addEventListener("abort", aborted, { once: true });
            this.settledWaiters.add(done);
        });
        return this.backend;
    }

    /**
     * Applies changed settings: a new model file, thread count or context size loads again; a new
     * completion expert count is set on the running context by the native runtime, or loads again
     * on stock binaries.
     */
    async settingsChanged(previous: Settings, next: Settings) {
        if (needsReload(previous, next)) return this.load();
        const backend = this.backend;
        if (previous.completion.experts === next.completion.experts || !backend) return;
        const result = await backend.setCompletionK(next.completion.experts);
        if (!result.applied) return this.load();
        for (const warning of result.warnings) this.warn(warning);
        if (this.status.state === "ready") this.setStatus(this.readyStatus(backend));
    }

    routingStats(): RoutingStatsResult {
        const backend = this.backend;
        if (!backend) return { available: false, reason: "No model is loaded.", expertCount: 0, trainedK: 0 };
        return backend.routingStats();
    }

    reportSpeed(tokensPerSecond: number) {
        if (this.status.state !== "ready") return;
        this.status = { ...this.status, tokensPerSecond };
        const now = Date.now();
        if (now - this.lastSpeedReport < SPEED_REPORT_INTERVAL_MS) return;
        this.lastSpeedReport = now;
        void this.connection.sendNotification(StatusNotification.type, this.status);
    }

    async shutdown() {
        this.unwatch?.();
        await this.engine.dispose();
    }

    /** Loads what the settings name; the outcome is the status (and a message when it failed). */
    async load(): Promise<void> {
        const settings = this.getSettings();
        this.unwatch?.();
        this.unwatch = undefined;
        this.setStatus({ state: "loading" });
        const progress = this.workDoneProgress ? await this.connection.window.createWorkDoneProgress() : undefined;
        progress?.begin("MoE Pilot: loading model", 0, undefined, false);
        let warnings: string[];
        try {
            ({ warnings } = await this.engine.load(settings, this.getExtensionRoot(), (message, percentage) =>
                progress?.report(percentage, message)
            ));
        } catch (e: unknown) {
            progress?.done();
            if (e instanceof SupersededLoadError) return;
            const message = errorMessage(e);
            this.log.error(`load failed: ${message}`);
            this.setStatus({ state: "error", message });
            tellUser(this.connection, "error", `MoE Pilot: ${message}`);
            return;
        }
        for (const warning of warnings) this.warn(warning);
        const backend = this.engine.backend!;
        // Progress ends before the status says ready, so a client sees one consistent order.
        progress?.done();
        this.setStatus(this.readyStatus(backend));
        const { completion, chat } = backend.models;
        this.unwatch = watchModelFiles([...(completion?.parts ?? []), ...(chat?.parts ?? [])], (change, file) =>
            this.modelFileChanged(change, file)
        );
    }

    private readyStatus(backend: Backend): StatusParams {
        const { model, completionK, completionAdaptive, expertMode } = backend.status;
        return { state: "ready", model, completionK, completionAdaptive, expertMode };
    }

    private warn(warning: string) {
        this.log.warn(warning);
        tellUser(this.connection, "warning", warning);
    }

    private setStatus(status: StatusParams) {
        this.status = status;
        void this.connection.sendNotification(StatusNotification.type, status);
        if (status.state === "ready" || status.state === "error") for (const done of [...this.settledWaiters]) done();
    }

    /** A loaded model file changed or went away on disk. */
    private modelFileChanged(change: ModelFileChange, file: string) {
        if (change === "deleted") {
            this.warn(
                `The model file ${file} was deleted or moved while loaded. The loaded model keeps working until the next load; choose another with "MoE Pilot: Choose Model…".`
            );
            return;
        }
        const message = `The model file ${file} changed on disk; loading it again.`;
        this.log.warn(message);
        tellUser(this.connection, "info", `MoE Pilot: ${message}`);
        void this.load();
    }
}
