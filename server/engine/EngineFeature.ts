/**
 * The engine's face to the client: loads the model with `$/progress`, reports state changes as
 * `moePilot/status/changed`, tells the user about failures once with `window/showMessage`, and
 * answers status and reload requests.
 */
import type { ClientCapabilities, Connection, ServerCapabilities } from "vscode-languageserver";
import type { Feature } from "../feature";
import { type Logger, tellUser } from "../log";
import {
    ReloadModelRequest, RemoteCredentialsNotification, type RoutingStatsResult, RoutingStatsRequest, type Settings, StatusNotification, type StatusParams, StatusRequest
} from "../protocol";
import { RemoteEngine } from "../remote/RemoteEngine";
import { type ModelFileChange, watchModelFiles } from "./modelFileWatch";
import { needsReload } from "../settings";
import { Engine, SupersededLoadError } from "./Engine";
import { errorMessage } from "./errors";

/** Speed figures reach the status bar at most this often. */
const SPEED_REPORT_INTERVAL_MS = 1000;

export class EngineFeature implements Feature {
    private status: StatusParams = { state: "starting" };
    private workDoneProgress = false;
    private lastSpeedReport = 0;
    /** The remote engine, when `remote.endpoint` is set: completions and chat go there instead of the local model. */
    remote?: RemoteEngine;
    private apiKey = "";
    private lastRemoteProblem?: string;
    /** Stops watching the loaded model files (modelFileWatch.ts). */
    private unwatch?: () => void;

    constructor(
        private readonly connection: Connection,
        readonly engine: Engine,
        private readonly log: Logger,
        private readonly getSettings: () => Settings,
        private readonly getExtensionRoot: () => string
    ) {}

    initialize(capabilities: ClientCapabilities): ServerCapabilities {
        this.workDoneProgress = capabilities.window?.workDoneProgress === true;
        this.connection.onRequest(StatusRequest.type, () => this.status);
        this.connection.onRequest(RoutingStatsRequest.type, () => this.routingStats());
        this.connection.onNotification(RemoteCredentialsNotification.type, (p) => {
            this.setApiKey(p?.apiKey);
            if (this.remote && this.status.state === "error") void this.load(); // a key may be what was missing
        });
        this.connection.onRequest(ReloadModelRequest.type, async () => {
            await this.load();
            return this.status;
        });
        return {};
    }

    get current(): StatusParams { return this.status; }

    /** The remote engine's API key (from the client's secret storage; memory only). */
    setApiKey(key: unknown) {
        this.apiKey = typeof key === "string" ? key : "";
        this.remote?.setApiKey(this.apiKey);
    }

    load(): Promise<void> {
        return this.runLoad();
    }

    /**
     * Applies changed settings: a new model file, thread count or context size loads again; a new
     * completion expert count is set on the running context by the native runtime, or loads again
     * in the fallback mode.
     */
    async settingsChanged(previous: Settings, next: Settings) {
        if (needsReload(previous, next)) return this.load();
        if (previous.completion.experts === next.completion.experts || this.status.state !== "ready") return;
        const result = await this.engine.setCompletionExperts(next.completion.experts);
        if (!result.applied) return this.load();
        for (const warning of result.warnings) {
            this.log.warn(warning);
            tellUser(this.connection, "warning", warning);
        }
        if (this.status.state === "ready") this.setStatus({ ...this.status, completionExperts: result.experts, expertMode: result.mode });
    }

    routingStats(): RoutingStatsResult {
        const model = this.status.model;
        const base = { expertCount: model?.expertCount ?? 0, expertUsedCount: model?.expertUsedCount ?? 0 };
        if (this.status.state !== "ready" || !model) return { ...base, available: false, reason: "No model is loaded." };
        if (this.remote) return { ...base, available: false, reason: `The model runs on a remote engine (${this.remote.endpoint}): its expert routing is not visible from here.` };
        if (!model.isMoe) return { ...base, available: false, reason: `${model.name} is not a Mixture of Experts.` };
        const routing = this.engine.routing;
        if (!routing) return { ...base, available: false, reason: "The routing trace needs the native MoE runtime (native/); the server runs on stock llama.cpp binaries." };
        return { ...base, available: true, cache: this.engine.expertCacheStatus(), completion: routing.completion.summary(), chat: routing.chat.summary() };
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

    /** The remote engine instead of the local model: the local one is unloaded, the endpoint asked what it is. */
    private async connectRemote(settings: Settings) {
        await this.engine.unload();
        const remote = new RemoteEngine(settings.remote);
        remote.setApiKey(this.apiKey);
        this.remote = remote;
        this.lastRemoteProblem = undefined;
        try {
            const info = await remote.connect();
            if (this.remote !== remote) return;
            this.log.info(`remote engine: ${info.kind} at ${remote.endpoint}, model ${info.model}${info.contextSize ? `, context ${info.contextSize}` : ""}`);
            this.setStatus({
                state: "ready", expertMode: "remote", completionExperts: 0,
                model: {
                    name: info.model, path: remote.endpoint, architecture: `remote ${info.kind}`, sizeBytes: 0, isMoe: false, expertCount: 0, expertUsedCount: 0,
                    fimSource: info.kind === "llama-server" ? "gguf-tokens" : settings.remote.fimFormat === "none" ? "none" : "family-template", isEmbedded: false
                }
            });
        } catch (e: unknown) {
            if (this.remote !== remote) return;
            const message = errorMessage(e);
            this.log.error(`remote engine: ${message}`);
            this.setStatus({ state: "error", message });
            tellUser(this.connection, "error", `MoE Pilot: ${message}`);
        }
    }

    private setStatus(status: StatusParams) {
        this.status = status;
        void this.connection.sendNotification(StatusNotification.type, status);
    }

    /** A remote request failed: logged, and the user told once per distinct problem (the next success clears it). */
    remoteFailed(e: unknown) {
        const message = errorMessage(e);
        this.log.warn(`remote engine: ${message}`);
        if (message === this.lastRemoteProblem) return;
        this.lastRemoteProblem = message;
        tellUser(this.connection, "warning", `MoE Pilot: ${message}`);
    }

    remoteSucceeded() { this.lastRemoteProblem = undefined; }

    /** A loaded model file changed or went away on disk. */
    private modelFileChanged(change: ModelFileChange, file: string) {
        if (change === "deleted") {
            const message = `The model file ${file} was deleted or moved while loaded. The loaded model keeps working until the next load; choose another with "MoE Pilot: Choose Model…".`;
            this.log.warn(message);
            tellUser(this.connection, "warning", message);
            return;
        }
        const message = `The model file ${file} changed on disk; loading it again.`;
        this.log.warn(message);
        tellUser(this.connection, "info", `MoE Pilot: ${message}`);
        void this.load();
    }

    private async runLoad() {
        const settings = this.getSettings();
        this.unwatch?.();
        this.unwatch = undefined;
        this.setStatus({ state: "loading" });
        if (settings.remote.endpoint) return this.connectRemote(settings);
        this.remote = undefined;
        const progress = this.workDoneProgress ? await this.connection.window.createWorkDoneProgress() : undefined;
        progress?.begin("MoE Pilot: loading model", 0, undefined, false);
        let status: StatusParams;
        try {
            const result = await this.engine.load(settings, this.getExtensionRoot(), (message, percentage) => progress?.report(percentage, message));
            for (const warning of result.warnings) {
                this.log.warn(warning);
                tellUser(this.connection, "warning", warning);
            }
            status = { state: "ready", model: result.summary, completionExperts: result.completionExperts, expertMode: result.expertMode };
        } catch (e: unknown) {
            progress?.done();
            if (e instanceof SupersededLoadError) return;
            const message = errorMessage(e);
            this.log.error(`model load failed: ${message}`);
            this.setStatus({ state: "error", message });
            tellUser(this.connection, "error", `MoE Pilot: ${message}`);
            return;
        }
        // Progress ends before the status says ready, so a client sees one consistent order.
        progress?.done();
        this.setStatus(status);
        const { completion, chat } = this.engine.inspections;
        this.unwatch = watchModelFiles([...completion?.parts ?? [], ...chat?.parts ?? []], (change, file) => this.modelFileChanged(change, file));
    }
}
