/**
 * Downloads a model with node-llama-cpp's downloader (ipull: parallel ranges, split GGUFs), on the
 * user's explicit request only, into the model directory — and never lets a file that is not whole
 * and checked appear there:
 *
 *   free-disk check → fetch into `<dir>/.partial/` (resuming what an interrupted download left) →
 *   sizes, SHA-256 when known, GGUF inspection → move into `<dir>`
 *
 * Cancelling keeps the partial file, so the next download of the same model resumes; a full disk or
 * a file that fails its checks is deleted.
 *
 * ipull 3.9 renames a cancelled download's temporary file (`<name>.ipull`: the data, then its chunk
 * map) to the final name, and does not resume from it there. That is why files are fetched into a
 * staging folder, and why a staged file longer than the model is renamed back to `.ipull` first.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, statfs } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createModelDownloader, type ModelDownloader } from "node-llama-cpp";
import { errorMessage } from "../errors";
import type { DownloadResult } from "../protocol";
import { formatBytes } from "./formatBytes";
import { inspectModel } from "./inspectModel";

type DownloadProgress = { downloadedBytes: number, totalBytes: number, bytesPerSecond: number, secondsLeft: number };

export type DownloadOptions = {
    /** `hf:<user>/<repo>/<file>.gguf` or an http(s) URL. */
    uri: string,
    directory: string,
    sha256?: string,
    /** A Hugging Face mirror (`moePilot.models.huggingFaceEndpoint`); empty for huggingface.co. */
    endpoint?: string,
    signal: AbortSignal,
    onProgress(progress: DownloadProgress): void
};

export type DownloadProblem = "read-only" | "disk-full" | "network" | "incomplete" | "checksum" | "not-a-model";

export class DownloadError extends Error {
    override readonly name = "DownloadError";
    constructor(readonly problem: DownloadProblem, message: string, options?: { cause?: unknown }) { super(message, options); }
}

const STAGING = ".partial";
/** ipull's suffix for a file being downloaded (data, then the chunk map). */
const IN_PROGRESS = ".ipull";
/** Room kept free beyond the model itself (5%, at most 256 MiB), so the download does not fill the disk to the last byte. */
const DISK_MARGIN = { share: 0.05, maxBytes: 256 * 2 ** 20 };
const PROGRESS_INTERVAL_MS = 250;

/** `moePilot.models.directory`, or the default: the user's cache folder. */
export function modelDirectory(setting: string): string {
    if (setting) return path.resolve(setting.replace(/^~(?=$|[\\/])/, os.homedir()));
    return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "moe-pilot", "models");
}


export async function downloadModel(options: DownloadOptions): Promise<DownloadResult> {
    const { directory, signal } = options;
    const staging = path.join(directory, STAGING);
    try {
        await mkdir(staging, { recursive: true });
    } catch (e: unknown) {
        throw new DownloadError("read-only", `The model directory ${directory} cannot be written (${errorMessage(e)}). Choose another one in the setting moePilot.models.directory.`, { cause: e });
    }

    const create = async () => {
        try {
            return await createModelDownloader({
                modelUri: options.uri,
                dirPath: staging,
                endpoints: options.endpoint ? { huggingFace: options.endpoint } : undefined,
                // Our own checks decide what is whole (see the header); ipull's would take a cancelled file for a finished one.
                skipExisting: false,
                deleteTempFileOnCancel: false,
                parallelDownloads: 2
            });
        } catch (e: unknown) {
            if (signal.aborted) throw abortError();
            throw new DownloadError("network", `Could not start downloading ${options.uri}: ${errorMessage(e)}`, { cause: e });
        }
    };
    let downloader: ModelDownloader = await create();
    const files = downloader.filesInfo.map((f) => ({ name: f.fileName, staged: path.join(staging, f.fileName), final: path.join(directory, f.fileName), bytes: f.totalSize }));
    const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
    const result = (alreadyPresent: boolean, resumedBytes: number, verified: DownloadResult["verified"]): DownloadResult =>
        ({ path: path.join(directory, downloader.entrypointFilename), files: files.map((f) => f.final), bytes: totalBytes, resumedBytes, verified, alreadyPresent });

    // Already there (a finished earlier download): nothing to fetch.
    if (totalBytes > 0 && (await Promise.all(files.map(async (f) => (await stat(f.final).catch(() => undefined))?.size === f.bytes))).every(Boolean))
        return result(true, 0, "size");

    // What an interrupted download left: back to ipull's in-progress name, where a new downloader
    // (ipull reads its chunk map when it is created) resumes it.
    let renamed = false;
    for (const f of files) {
        const staged = await stat(f.staged).catch(() => undefined);
        if (staged && f.bytes > 0 && staged.size > f.bytes) {
            await rename(f.staged, f.staged + IN_PROGRESS);
            renamed = true;
        } else if (staged) await rm(f.staged, { force: true });
    }
    if (renamed) downloader = await create();
    // ipull loaded the chunk map of what an interrupted download fetched: that much is not fetched (or written) again.
    const resumedBytes = downloader.downloadedSize;

    const disk = await statfs(staging).catch(() => undefined);
    const free = disk ? disk.bavail * disk.bsize : Infinity;
    if (free < totalBytes - resumedBytes + Math.min(DISK_MARGIN.maxBytes, totalBytes * DISK_MARGIN.share))
        throw new DownloadError("disk-full", `Not enough free disk space for ${downloader.entrypointFilename}: it needs ${formatBytes(totalBytes - resumedBytes)} more and ${formatBytes(free)} is free in ${directory}. Free some space or choose another folder in moePilot.models.directory.`);

    let lastReport = 0;
    const report = (final = false) => {
        const now = performance.now();
        if (!final && now - lastReport < PROGRESS_INTERVAL_MS) return;
        lastReport = now;
        options.onProgress({
            downloadedBytes: downloader.downloadedSize, totalBytes,
            bytesPerSecond: Math.round(downloader.averageSpeed || 0), secondsLeft: Math.round((downloader.estimatedTimeLeft || 0) / 1000)
        });
    };
    const onAbort = () => void downloader.cancel({ deleteTempFile: false });
    signal.addEventListener("abort", onAbort, { once: true });
    const ticker = setInterval(() => report(), PROGRESS_INTERVAL_MS);
    try {
        await downloader.download();
    } catch (e: unknown) {
        if (signal.aborted) throw abortError();
        if (isDiskFull(e)) {
            await removeStaged(files);
            throw new DownloadError("disk-full", `The disk filled up while downloading ${downloader.entrypointFilename} (${formatBytes(totalBytes)}); the partial file was removed. Free some space and download again.`, { cause: e });
        }
        throw new DownloadError("network", `The download of ${downloader.entrypointFilename} stopped: ${errorMessage(e)}. Download again to resume.`, { cause: e });
    } finally {
        clearInterval(ticker);
        signal.removeEventListener("abort", onAbort);
    }
    if (signal.aborted) throw abortError(); // ipull resolves a cancelled download: the partial file stays staged for a resume
    report(true);

    for (const f of files) {
        const size = (await stat(f.staged).catch(() => undefined))?.size;
        if (size !== f.bytes) {
            await removeStaged(files);
            throw new DownloadError("incomplete", `The download of ${f.name} is incomplete (${size ?? 0} of ${f.bytes} bytes). Download again.`);
        }
    }
    let verified: DownloadResult["verified"] = "size";
    if (options.sha256 && files.length === 1) {
        const actual = await sha256(files[0]!.staged, signal);
        if (actual !== options.sha256.toLowerCase()) {
            await removeStaged(files);
            throw new DownloadError("checksum", `The downloaded ${files[0]!.name} is damaged: its SHA-256 is ${actual.slice(0, 12)}…, not ${options.sha256.slice(0, 12)}…. It was deleted; download again.`);
        }
        verified = "sha256";
    }
    try {
        await inspectModel(path.join(staging, downloader.entrypointFilename));
    } catch (e: unknown) {
        await removeStaged(files);
        throw new DownloadError("not-a-model", `The downloaded file cannot be used, so it was deleted: ${errorMessage(e)}`, { cause: e });
    }
    for (const f of files) await rename(f.staged, f.final);
    return result(false, resumedBytes, verified);
}

async function removeStaged(files: { staged: string }[]) {
    for (const f of files) {
        await rm(f.staged, { force: true });
        await rm(f.staged + IN_PROGRESS, { force: true });
    }
}

function isDiskFull(e: unknown): boolean {
    for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause)
        if ((c as { code?: string }).code === "ENOSPC" || /ENOSPC|no space left/i.test(errorMessage(c))) return true;
    return false;
}

async function sha256(file: string, signal: AbortSignal): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file, { signal })) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

function abortError(): Error {
    return new DOMException("The download was cancelled", "AbortError");
}
