/**
 * The engine: loads what the settings name (the local model, or the remote engine), unloads it,
 * and hands out the backend completion and chat call (backend/Backend.ts). It owns the two
 * things that outlive a load: llama.cpp's binaries and the compute lane every local evaluation
 * goes through. A newer load supersedes an older one still running; unloads run one after the
 * other, so a load never starts beside a model still being freed.
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
    /** The unloads so far, chained: each waits for the one before. */
    private unloading: Promise<void> = Promise.resolve();
    private apiKey = "";

    constructor(private readonly log: Logger) {
        this.runtime = new LlamaRuntime(log);
    }

    /** The backend loaded now, if any. */
    get backend(): Backend | undefined {
        return this.current;
    }

    /** The remote engine's API key (from the client's secret storage; memory only), for this load and the next. */
    setApiKey(key: unknown) {
        this.apiKey = typeof key === "string" ? key : "";
        if (this.current instanceof RemoteBackend) this.current.setApiKey(this.apiKey);
    }

    /** Unloads what is loaded and loads what `settings` name; returns the setting problems found on the way. */
    async load(settings: Settings, extensionRoot: string, progress: LoadProgress): Promise<{ warnings: string[] }> {
        const generation = ++this.loadGeneration;
        const superseded = () => generation !== this.loadGeneration;
        try {
            await this.unload();
            if (superseded()) throw new SupersededLoadError();
            const { backend, warnings } = settings.remote.endpoint
                ? await this.connectRemote(settings, progress)
                : await loadLocalBackend({
                      settings,
                      extensionRoot,
                      runtime: this.runtime,
                      lane: this.lane,
                      log: this.log,
                      generation,
                      superseded,
                      progress
                  });
            if (superseded()) {
                await backend.dispose();
                throw new SupersededLoadError();
            }
            this.current = backend;
            return { warnings };
        } catch (e: unknown) {
            // A load a newer one replaced says nothing, even when it failed on its way out.
            throw superseded() ? new SupersededLoadError() : e;
        }
    }

    private async connectRemote(
        settings: Settings,
        progress: LoadProgress
    ): Promise<{ backend: Backend; warnings: string[] }> {
        progress(`Connecting to ${settings.remote.endpoint}`, 50);
        const key = this.apiKey;
        let remote: RemoteBackend;
        try {
            remote = await RemoteBackend.connect(settings.remote, key, settings.contextSize);
        } catch (e: unknown) {
            // The key changed while it connected (the user just set it): one more try, with it.
            if (this.apiKey === key) throw e;
            remote = await RemoteBackend.connect(settings.remote, this.apiKey, settings.contextSize);
        }
        remote.setApiKey(this.apiKey);
        this.log.info(
            `remote engine at ${remote.endpoint}: ${remote.status.model.architecture}, model ${remote.status.model.name}`
        );
        return { backend: remote, warnings: [] };
    }

    /** Frees what is loaded (after any unload still running). */
    unload(): Promise<void> {
        const backend = this.current;
        this.current = undefined;
        this.unloading = this.unloading.then(() => backend?.dispose());
        return this.unloading;
    }

    async dispose() {
        this.loadGeneration++;
        await this.unload();
        await this.runtime.dispose();
    }
}
