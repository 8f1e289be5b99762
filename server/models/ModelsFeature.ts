/**
 * Models as the user meets them: the registry and what fits this machine (`moePilot/models/list`),
 * downloads on request (`moePilot/model/download`, progress on the request's work-done token,
 * cancel with `$/cancelRequest`), a file inspected before it is used (`moePilot/model/inspect`)
 * and the loaded model's card with live expert statistics (`moePilot/model/card`).
 */
import { readdir, statfs } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { type CancellationToken, type ClientCapabilities, type Connection, LSPErrorCodes, ResponseError, type ServerCapabilities } from "vscode-languageserver";
import type { EngineFeature } from "../engine/EngineFeature";
import { ModelFileError, errorMessage, isAbort } from "../errors";
import type { Feature } from "../feature";
import type { Logger } from "../log";
import {
    type DownloadParams, DownloadModelRequest, type DownloadResult, InspectModelRequest, type LoadedModelCard, type ModelCard, ModelCardRequest, ModelListRequest,
    type ModelListResult, type Settings
} from "../protocol";
import { DownloadError, downloadModel, modelDirectory } from "./download";
import { formatBytes } from "./formatBytes";
import { inspectModel } from "./inspectModel";
import { modelCard } from "./modelCard";
import { REGISTRY, machineMemory, modelFit, registryModel, registryModelForFile } from "./registry";


export class ModelsFeature implements Feature {
    /** URIs downloading now: a second request for the same file is refused (two writers would share its partial file). */
    private readonly downloads = new Set<string>();

    constructor(
        private readonly connection: Connection,
        private readonly engine: EngineFeature,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {}

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
        this.connection.onRequest(ModelListRequest.type, () => this.list());
        this.connection.onRequest(DownloadModelRequest.type, (params, token) => this.download(params, token));
        this.connection.onRequest(InspectModelRequest.type, (params) => this.inspect(params?.path));
        this.connection.onRequest(ModelCardRequest.type, () => this.card());
        return {};
    }

    async list(): Promise<ModelListResult> {
        const machine = machineMemory();
        const directory = modelDirectory(this.getSettings().models.directory);
        const disk = await statfs(existsSync(directory) ? directory : path.parse(directory).root).catch(() => undefined);
        const present = await readdir(directory).catch(() => [] as string[]);
        return {
            machine: { totalMemoryBytes: machine.totalBytes, availableMemoryBytes: machine.availableBytes, modelDirectory: directory, freeDiskBytes: disk ? disk.bavail * disk.bsize : undefined },
            models: REGISTRY.map((m) => {
                const file = present.find((f) => registryModelForFile(f) === m);
                return { ...m, fit: modelFit(m, machine), downloadedPath: file ? path.join(directory, file) : undefined };
            })
        };
    }

    async download(params: DownloadParams, token: CancellationToken): Promise<DownloadResult | ResponseError<{ problem: string }>> {
        const entry = params && "id" in params ? registryModel(params.id) : undefined;
        if (params && "id" in params && !entry) return new ResponseError(LSPErrorCodes.RequestFailed, `No model "${params.id}" in the registry.`, { problem: "unknown-model" });
        const uri = entry?.uri ?? (params && "uri" in params && typeof params.uri === "string" ? params.uri : "");
        if (!/^(hf:|https?:\/\/)/.test(uri)) return new ResponseError(LSPErrorCodes.RequestFailed, "A download needs a registry id, or a model URI starting with hf: or http(s)://.", { problem: "bad-request" });
        const sha256 = entry?.sha256 ?? (params && "sha256" in params ? params.sha256 : undefined);
        const settings = this.getSettings().models;
        const directory = modelDirectory(settings.directory);
        if (this.downloads.has(uri)) return new ResponseError(LSPErrorCodes.RequestFailed, `${uri} is already downloading.`, { problem: "busy" });

        const progress = this.connection.window.attachWorkDoneProgress(params.workDoneToken);
        progress.begin(`Downloading ${entry?.name ?? uri.split("/").pop()}`, 0, "starting");
        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        this.log.info(`download of ${uri} into ${directory} (asked for by the user)`);
        const running = downloadModel({
            uri, directory, sha256, endpoint: settings.huggingFaceEndpoint, signal: controller.signal,
            onProgress: (p) => progress.report(p.totalBytes > 0 ? Math.floor(100 * p.downloadedBytes / p.totalBytes) : 0, describe(p))
        });
        this.downloads.add(uri);
        try {
            const result = await running;
            this.log.info(result.alreadyPresent ? `${result.path} was already downloaded` : `downloaded ${result.path} (${formatBytes(result.bytes)}, resumed from ${formatBytes(result.resumedBytes)}, verified by ${result.verified})`);
            return result;
        } catch (e: unknown) {
            if (isAbort(e)) {
                this.log.info(`download of ${uri} cancelled; the partial file is kept for a resume`);
                return new ResponseError(LSPErrorCodes.RequestCancelled, "The download was cancelled. Downloading the same model again resumes it.", { problem: "cancelled" });
            }
            this.log.error(`download of ${uri} failed: ${errorMessage(e)}`);
            return new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(e), { problem: e instanceof DownloadError ? e.problem : "failed" });
        } finally {
            this.downloads.delete(uri);
            subscription.dispose();
            progress.done();
        }
    }

    async inspect(filePath: unknown): Promise<ModelCard | ResponseError<{ problem: string }>> {
        if (typeof filePath !== "string" || filePath === "") return new ResponseError(LSPErrorCodes.RequestFailed, "Inspect needs the path of a .gguf file.", { problem: "bad-request" });
        try {
            return await modelCard(await inspectModel(filePath), this.getSettings().contextSize, this.getSettings().chat.sampling);
        } catch (e: unknown) {
            return new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(e), { problem: e instanceof ModelFileError ? e.problem : "unreadable" });
        }
    }

    async card(): Promise<LoadedModelCard> {
        const { completion, chat } = this.engine.backend?.models ?? {};
        const { contextSize, chat: chatSettings } = this.getSettings();
        return {
            completion: completion ? await modelCard(completion, contextSize, chatSettings.sampling) : undefined,
            chat: chat ? await modelCard(chat, contextSize, chatSettings.sampling) : undefined,
            status: this.engine.current,
            routing: this.engine.routingStats()
        };
    }
}

function describe(p: { downloadedBytes: number, totalBytes: number, bytesPerSecond: number, secondsLeft: number }): string {
    const speed = p.bytesPerSecond > 0 ? `, ${(p.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s` : "";
    const left = p.bytesPerSecond > 0 && p.secondsLeft > 0
        ? `, ${p.secondsLeft >= 3600 ? `${Math.floor(p.secondsLeft / 3600)} h ${Math.round((p.secondsLeft % 3600) / 60)} min` : p.secondsLeft >= 60 ? `${Math.round(p.secondsLeft / 60)} min` : `${p.secondsLeft} s`} left`
        : "";
    return `${formatBytes(p.downloadedBytes)} of ${formatBytes(p.totalBytes)}${speed}${left}`;
}
