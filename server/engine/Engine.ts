/**
 * The engine: loads what the settings name (the local model, or the remote engine), unloads it,
 * and hands out the backend completion and chat call (backend/Backend.ts). It owns the two
 * things that outlive a load: llama.cpp's binaries and the compute lane every local evaluation
 * goes through. A newer load supersedes an older one still running.
 */
import type { Backend } from "../backend/Backend";
import type { Logger } from "../log";
import type { Settings } from "../protocol";
import { RemoteBackend } from "../remote/RemoteBackend";
import { ComputeLane } from "./ComputeLane";
import { LlamaRuntime } from "./llama";
import { type LoadProgress, loadLocalBackend, SupersededLoadError } from "./loadLocalBackend";

export class Engine {
    readonly lane = new ComputeLane();
    private readonly runtime: LlamaRuntime;
    private loadGeneration = 0;
    private current?: Backend;
    private apiKey = "";

    constructor(private readonly log: Logger) {
        this.runtime = new LlamaRuntime(log);
    }

    /** The backend loaded now, if any. */
    get backend(): Backend | undefined {
        return this.current;
    }

    /** The remote engine's API key (from the client's secret storage; memory only), for the next load. */
    setApiKey(key: unknown) {
        this.apiKey = typeof key === "string" ? key : "";
        if (this.current instanceof RemoteBackend) this.current.setApiKey(this.apiKey);
    }

    /** Unloads what is loaded and loads what `settings` name; returns the setting problems found on the way. */
    async load(settings: Settings, extensionRoot: string, progress: LoadProgress): Promise<{ warnings: string[] }> {
        const generation = ++this.loadGeneration;
        const superseded = () => generation !== this.loadGeneration;
        await this.unload();
        if (settings.remote.endpoint) {
            progress(`Connecting to ${settings.remote.endpoint}`, 50);
            const remote = await RemoteBackend.connect(settings.remote, this.apiKey, settings.contextSize);
            if (superseded()) throw new SupersededLoadError();
            this.log.info(
                `remote engine at ${remote.endpoint}: ${remote.status.model.architecture}, model ${remote.status.model.name}`
            );
            this.current = remote;
            return { warnings: [] };
        }
        const { backend, warnings } = await loadLocalBackend({
            settings,
            extensionRoot,
            runtime: this.runtime,
            lane: this.lane,
            log: this.log,
            generation,
            superseded,
            progress
        });
        this.current = backend;
        return { warnings };
    }

    async unload() {
        const backend = this.current;
        this.current = undefined;
        await backend?.dispose();
    }

    async dispose() {
        this.loadGeneration++;
        await this.unload();
        await this.runtime.dispose();
    }
}
