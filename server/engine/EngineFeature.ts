/**
 * The engine's face to the client: loads the model with `$/progress`, reports state changes as
 * `moePilot/status/changed`, tells the user about failures once with `window/showMessage`, and
 * answers status and reload requests.
 */
import type { ClientCapabilities, Connection, ServerCapabilities } from "vscode-languageserver";
import type { Feature } from "../feature";
import { type Logger, tellUser } from "../log";
import { ReloadModelRequest, type RoutingStatsResult, RoutingStatsRequest, type Settings, StatusNotification, type StatusParams, StatusRequest } from "../protocol";
import { needsReload } from "../settings";
import { Engine, SupersededLoadError } from "./Engine";
import { errorMessage } from "./errors";

/** Speed figures reach the status bar at most this often. */
const SPEED_REPORT_INTERVAL_MS = 1000;

export class EngineFeature implements Feature {
    private status: StatusParams = { state: "starting" };
    private workDoneProgress = false;
    private lastSpeedReport = 0;

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
        this.connection.onRequest(ReloadModelRequest.type, async () => {
            await this.load();
            return this.status;
        });
        return {};
    }

    get current(): StatusParams { return this.status; }

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
        await this.engine.dispose();
    }

    private setStatus(status: StatusParams) {
        this.status = status;
        void this.connection.sendNotification(StatusNotification.type, status);
    }

    private async runLoad() {
        const settings = this.getSettings();
        this.setStatus({ state: "loading" });
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
    }
}
