/**
 * The workspace index's face to LSP: the folders from `initialize` and
 * `workspace/didChangeWorkspaceFolders`, the editor's `files.exclude`, file events from
 * `workspace/didChangeWatchedFiles`, open documents as they are typed, `$/progress` while a
 * pass reads files, and the store on disk (indexStore.ts) read back at start.
 *
 * Files are read off the lane; chunking and indexing run as short jobs on the compute lane at
 * background priority, so a completion or a chat never waits for more than one job (a few
 * milliseconds).
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
    type ClientCapabilities,
    type Connection,
    DidChangeWatchedFilesNotification,
    FileChangeType,
    type InitializeParams,
    type ServerCapabilities,
    type TextDocuments
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Backend } from "../backend/Backend";
import { type ComputeLane, Priority } from "../engine/ComputeLane";
import { cosine } from "../routing/routingEmbedding";
import { errorMessage } from "../errors";
import type { Feature } from "../feature";
import { type Logger, OnceNotice } from "../log";
import {
    type IndexStatus,
    IndexStatusRequest,
    type Settings,
    type WorkspaceChunk,
    WorkspaceSearchRequest
} from "../protocol";
import { Chunker } from "./chunker";
import { IndexStore, STORE_VERSION } from "./indexStore";
import { type IndexSnapshot, type SearchHit, WorkspaceIndex } from "./WorkspaceIndex";
import { type Excludes, excludesFrom, isWalked, readTextFile, walkFolder } from "./workspaceFiles";

/** One lane job reads and chunks files for at most this long. */
const SLICE_MS = 8;
/**
 * The index stops taking files past this much chunk text (about 20,000 source files), and says so:
 * its memory is mostly the BM25 postings, which grow with the text (docs/bench-index.md).
 */
const MAX_INDEX_CHARS = 96 * 2 ** 20;
/** A pass over the folders gives up after this long, and says so (the index keeps what it has). */
const PASS_TIME_CAP_MS = 10 * 60_000;
/** Typing in an open document is indexed this long after the last change. */
const EDIT_DEBOUNCE_MS = 750;
/** A snapshot is written at most this often while things change. */
const SAVE_DEBOUNCE_MS = 30_000;
/** BM25 candidates the routing rerank orders. */
const RERANK_CANDIDATES = 20;
/** Routing vectors kept in memory (the store keeps them all). */
const VECTORS_IN_MEMORY = 20_000;

/** `v` minus `mean`, of unit length: cosine on centred vectors discriminates where raw routing vectors are all alike. */
function centred(v: Float32Array, mean: Float32Array): Float32Array {
    const out = new Float32Array(v.length);
    let norm = 0;
    for (let i = 0; i < v.length; i++) {
        out[i] = v[i]! - mean[i]!;
        norm += out[i]! ** 2;
    }
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < v.length; i++) out[i]! /= norm;
    return out;
}

export class WorkspaceFeature implements Feature {
    index = new WorkspaceIndex();
    private readonly chunker = new Chunker();
    private folders: string[] = [];
    private excludes: Excludes = () => false;
    /** The `files.exclude` value the excludes were made from, to tell a change. */
    private excludesKey?: string;
    private store?: IndexStore;
    private storeNote = "";
    private statusValue: IndexStatus = {
        state: "off",
        folders: [],
        files: 0,
        chunks: 0,
        textChars: 0,
        filesRead: 0,
        store: ""
    };
    private pass?: AbortController;
    private passDone: Promise<void> = Promise.resolve();
    private readonly editTimers = new Map<string, NodeJS.Timeout>();
    private saveTimer?: NodeJS.Timeout;
    private savedVersion = -1;
    private pullConfiguration = false;
    private watchRegistration = false;
    private workDoneProgress = false;
    /** The client sends `workspace/didChangeWorkspaceFolders` (vscode-languageserver throws on subscribing otherwise). */
    private folderEvents = false;
    private storagePath?: string;
    /** Saves run one after the other: a slower older batch must never land after a newer one. */
    private saving: Promise<void> = Promise.resolve();
    private readonly embedFailure: OnceNotice;

    constructor(
        private readonly connection: Connection,
        private readonly documents: TextDocuments<TextDocument>,
        private readonly lane: ComputeLane,
        private readonly backend: () => Backend | undefined,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {
        this.embedFailure = new OnceNotice(connection, log, "warning", "routing rerank off, BM25 alone: ");
    }

    initialize(capabilities: ClientCapabilities, params?: InitializeParams): ServerCapabilities {
        this.pullConfiguration = capabilities.workspace?.configuration === true;
        this.watchRegistration = capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
        this.workDoneProgress = capabilities.window?.workDoneProgress === true;
        this.folderEvents = capabilities.workspace?.workspaceFolders === true;
        const init = params?.initializationOptions as { storagePath?: unknown } | undefined;
        if (typeof init?.storagePath === "string" && init.storagePath !== "") this.storagePath = init.storagePath;
        this.folders = foldersOf(params);

        this.connection.onRequest(WorkspaceSearchRequest.type, async (p) => ({
            chunks: (
                await this.retrieve(String(p.query ?? ""), Math.max(1, Math.min(50, Number(p.limit) || 8)), {
                    rerank: p.rerank ?? this.getSettings().workspace.rerank
                })
            ).map((h) => this.toChunk(h))
        }));
        this.connection.onRequest(IndexStatusRequest.type, () => this.status());
        this.connection.onDidChangeWatchedFiles((e) => {
            for (const change of e.changes) {
                const file = filePath(change.uri);
                if (!file || !this.inFolders(file)) continue;
                if (change.type === FileChangeType.Deleted) this.forget(file);
                else if (!this.documents.get(change.uri)) void this.refreshFromDisk(file);
            }
        });
        this.documents.onDidChangeContent((e) => this.scheduleEdit(e.document.uri));
        this.documents.onDidClose((e) => {
            // The editor's unsaved text is gone: the disk's is what the workspace has.
            const file = filePath(e.document.uri);
            if (file && this.inFolders(file)) void this.refreshFromDisk(file);
        });
        return { workspace: { workspaceFolders: { supported: true, changeNotifications: true } } };
    }

    async initialized() {
        if (this.watchRegistration)
            await this.connection.client
                .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: "**/*" }] })
                .catch((e: unknown) => this.log.warn(`could not watch files: ${errorMessage(e)}`));
        if (this.folderEvents)
            this.connection.workspace.onDidChangeWorkspaceFolders((e) => {
                const removed = new Set(e.removed.map((f) => filePath(f.uri)));
                this.folders = [
                    ...this.folders.filter((f) => !removed.has(f)),
                    ...e.added.map((f) => filePath(f.uri)).filter((f): f is string => f !== undefined)
                ];
                for (const file of this.index.paths()) if (!this.inFolders(file)) this.index.removeFile(file);
                if (!this.getSettings().workspace.index) return;
                void (async () => {
                    if (!this.store) await this.openStore();
                    this.startPass();
                })();
            });
        await this.readExcludes();
        if (!this.getSettings().workspace.index || this.folders.length === 0) return;
        await this.openStore();
        this.startPass();
    }

    /** The editor's `files.exclude` (where the client answers `workspace/configuration`); true when it changed. */
    private async readExcludes(): Promise<boolean> {
        if (!this.pullConfiguration) return false;
        const exclude: unknown = await this.connection.workspace
            .getConfiguration({ section: "files.exclude" })
            .catch(() => undefined);
        const key = JSON.stringify(exclude ?? null);
        if (key === this.excludesKey) return false;
        this.excludes = excludesFrom(exclude);
        this.excludesKey = key;
        return true;
    }

    /** Settings changed: the index turned on or off, its caps moved, or `files.exclude` changed (a pass then drops what it now excludes and reads what it no longer does). */
    async settingsChanged(previous: Settings, next: Settings) {
        const a = previous.workspace,
            b = next.workspace;
        const excludesChanged = await this.readExcludes();
        if (
            a.index === b.index &&
            a.maxFiles === b.maxFiles &&
            a.maxFileKiB === b.maxFileKiB &&
            !(excludesChanged && b.index)
        )
            return;
        if (!b.index) {
            this.pass?.abort();
            this.statusValue = { ...this.statusValue, state: "off" };
            return;
        }
        void (async () => {
            if (!this.store) await this.openStore();
            this.startPass();
        })();
    }

    async shutdown() {
        this.pass?.abort();
        for (const timer of this.editTimers.values()) clearTimeout(timer);
        this.editTimers.clear();
        await this.passDone;
        await this.save();
        await this.store?.close();
        this.store = undefined;
    }

    status(): IndexStatus {
        return {
            ...this.statusValue,
            folders: this.folders,
            files: this.index.fileCount,
            chunks: this.index.chunkCount,
            textChars: this.index.textChars,
            store: this.store ? this.storeNote : this.storeNote || "none"
        };
    }

    search(query: string, limit: number, filter?: (file: string) => boolean): SearchHit[] {
        if (!this.getSettings().workspace.index) return [];
        return this.index.search(query, limit, filter && ((c) => filter(c.file)));
    }

    /** A document's name for prompts: relative to its workspace folder, or undefined outside every folder. */
    promptPath(uri: string): string | undefined {
        const file = filePath(uri);
        return file && this.inFolders(file) ? this.relativePath(file) : undefined;
    }

    /**
     * The best chunks for `query`: BM25's candidates, reranked by the model's routing (the cosine
     * of routing vectors, centred on the candidates' mean) when `rerank` is "routing" and the
     * backend can embed. Vectors are cached by content hash, in memory and in the store.
     */
    async retrieve(
        query: string,
        limit: number,
        options: { rerank: "routing" | "off"; signal?: AbortSignal }
    ): Promise<SearchHit[]> {
        const backend = this.backend();
        const model = backend?.embeddingModel;
        if (options.rerank === "off" || !backend || !model) return this.search(query, limit);
        const candidates = this.search(query, Math.max(RERANK_CANDIDATES, limit));
        if (candidates.length <= 1) return candidates;
        let queryVector: Float32Array | undefined;
        const vectors: (Float32Array | undefined)[] = [];
        try {
            queryVector = await backend.embed(query, options.signal);
            if (queryVector)
                for (const hit of candidates) vectors.push(await this.vectorOf(backend, model, hit, options.signal));
        } catch (e: unknown) {
            if (options.signal?.aborted) throw e;
            // Retrieval still answers: BM25's order, and the reason in the log once.
            this.embedFailure.tell(errorMessage(e));
            queryVector = undefined;
        }
        if (!queryVector) return candidates.slice(0, limit);
        const known = vectors.filter((v): v is Float32Array => v !== undefined);
        const mean = new Float32Array(queryVector.length);
        for (const v of known) for (let i = 0; i < mean.length; i++) mean[i]! += v[i]! / known.length;
        const q = centred(queryVector, mean);
        return candidates
            .map((hit, i) => ({ hit, score: vectors[i] ? cosine(q, centred(vectors[i], mean)) : -2 }))
            .sort((a, b) => b.score - a.score)
            .slice(0, limit)
            .map(({ hit }) => hit);
    }

    private readonly vectors = new Map<string, Float32Array>();

    private async vectorOf(backend: Backend, model: string, hit: SearchHit, signal?: AbortSignal) {
        const key = `${model}:${hit.chunk.hash}`;
        let vector =
            this.vectors.get(key) ?? (await this.store?.embedding(model, hit.chunk.hash).catch(() => undefined));
        if (!vector) {
            vector = await backend.embed(hit.text, signal);
            if (vector) await this.store?.putEmbedding(model, hit.chunk.hash, vector).catch(() => undefined);
        }
        if (vector) {
            if (this.vectors.size >= VECTORS_IN_MEMORY) this.vectors.delete(this.vectors.keys().next().value!);
            this.vectors.set(key, vector);
        }
        return vector;
    }

    /** The public members of `typeName` as `text` (a chunk of `file`) declares them (Chunker.memberNames). */
    memberNames(file: string, text: string, typeName: string): Promise<string[]> {
        return this.chunker.memberNames(file, text, typeName);
    }

    /** Syntax errors a parser finds in `text` as the file `uri` (Chunker.syntaxErrors); undefined without a grammar. */
    syntaxErrors(uri: string, text: string): Promise<number | undefined> {
        const file = filePath(uri) ?? uri;
        return this.chunker.syntaxErrors(file, text);
    }

    /** `file` relative to its workspace folder, for showing and for prompts. */
    relativePath(file: string): string {
        const folder = this.folders.find((f) => file.startsWith(f + path.sep)) ?? path.dirname(file);
        return path.relative(folder, file).split(path.sep).join("/");
    }

    toChunk(hit: SearchHit): WorkspaceChunk {
        return {
            uri: pathToFileURL(hit.chunk.file).href,
            path: this.relativePath(hit.chunk.file),
            startLine: hit.chunk.startLine,
            endLine: hit.chunk.endLine,
            symbols: hit.chunk.symbols,
            text: hit.text,
            score: hit.score
        };
    }

    private inFolders(file: string): boolean {
        return this.folders.some((f) => file === f || file.startsWith(f + path.sep));
    }

    /** Whether the walk would index `file` (events name files under ignored folders too). */
    private async wanted(file: string): Promise<boolean> {
        const folder = this.folders.find((f) => file.startsWith(f + path.sep));
        return (
            this.getSettings().workspace.index && folder !== undefined && (await isWalked(folder, file, this.excludes))
        );
    }

    private async openStore() {
        const dir = this.storagePath
            ? path.join(this.storagePath, "index")
            : path.join(
                  process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
                  "moe-pilot",
                  "index",
                  createHash("sha256").update(this.folders.join("\n")).digest("hex").slice(0, 16)
              );
        const store = await IndexStore.open(dir);
        if (typeof store === "string") {
            this.storeNote = `no store (${store}); the index lives in memory only`;
            this.log.warn(`workspace index: ${this.storeNote}`);
            return;
        }
        this.store = store;
        this.storeNote = dir;
        try {
            const snapshot = await store.snapshot<IndexSnapshot>();
            if (snapshot?.version === STORE_VERSION) {
                const started = performance.now();
                const texts = await store.texts(new Set(snapshot.chunks.map((c) => c.hash)));
                this.index = WorkspaceIndex.restore(snapshot, texts);
                this.savedVersion = this.index.version;
                this.log.info(
                    `workspace index: ${this.index.fileCount} files, ${this.index.chunkCount} chunks read from the store in ${(performance.now() - started).toFixed(0)} ms`
                );
            } else if (snapshot) await store.clear();
        } catch (e: unknown) {
            // A damaged store costs a full pass, never the server.
            this.log.warn(`workspace index: the store could not be read (${errorMessage(e)}); reading the files again`);
            this.index = new WorkspaceIndex();
            await store.clear().catch(() => undefined);
        }
    }

    /** A pass over the folders: files new or changed since the store's snapshot are read; files gone are dropped. */
    private startPass() {
        this.pass?.abort();
        const controller = new AbortController();
        this.pass = controller;
        const previous = this.passDone;
        this.passDone = previous
            .then(() => this.runPass(controller.signal))
            .catch((e: unknown) => {
                this.log.error(`workspace index: ${errorMessage(e)}`);
                this.statusValue = { ...this.statusValue, state: "error", note: errorMessage(e) };
            });
    }

    private async runPass(signal: AbortSignal) {
        if (signal.aborted) return;
        const settings = this.getSettings().workspace;
        const started = performance.now();
        this.statusValue = { ...this.statusValue, state: "indexing", filesRead: 0, note: undefined };
        const progress = this.workDoneProgress ? await this.connection.window.createWorkDoneProgress() : undefined;
        progress?.begin("MoE Pilot: indexing the workspace", undefined, "listing files", true);
        const cancelled = progress?.token.onCancellationRequested(() => this.pass?.abort());
        const seen = new Set<string>();
        // Open documents by file path (their URIs may be spelled otherwise than Node spells them).
        const openPaths = new Set(this.documents.all().map((d) => filePath(d.uri)));
        let read = 0;
        let complete = true;
        const counted = { files: 0 };
        const overTime = () => performance.now() - started > PASS_TIME_CAP_MS;
        const overMemory = () => this.index.textChars > MAX_INDEX_CHARS;
        // Files are read in lane jobs of SLICE_MS each; between jobs the lane serves model work first.
        const queue: { path: string; mtimeMs: number; size: number }[] = [];
        const drain = async () => {
            while (queue.length > 0 && !signal.aborted) {
                // Disk reads happen off the lane; a lane job only chunks and indexes.
                const batch = queue.splice(0, 16);
                const texts = await Promise.all(batch.map((f) => readTextFile(f.path)));
                await this.lane.run(Priority.Background, signal, async () => {
                    const sliceStart = performance.now();
                    while (batch.length > 0 && performance.now() - sliceStart < SLICE_MS) {
                        const file = batch.shift()!;
                        const text = texts.shift();
                        await this.indexText(file.path, file, text);
                        read++;
                    }
                });
                queue.unshift(...batch); // what the slice had no time for
                progress?.report(`${seen.size} files listed, ${read} read`);
            }
        };
        try {
            for (const folder of this.folders) {
                const finished = await walkFolder(
                    folder,
                    { maxFiles: settings.maxFiles, maxFileBytes: settings.maxFileKiB * 1024 },
                    this.excludes,
                    async (file) => {
                        seen.add(file.path);
                        const known = this.index.file(file.path);
                        // Unchanged since the snapshot; open documents are indexed from the editor.
                        const open = known?.mtimeMs === -1 && openPaths.has(file.path);
                        if (known && (open || (known.mtimeMs === file.mtimeMs && known.size === file.size))) return;
                        queue.push(file);
                        if (queue.length >= 64) await drain();
                    },
                    () => signal.aborted || overTime() || overMemory(),
                    counted
                );
                if (!finished) {
                    complete = false;
                    this.statusValue.note = `the index stopped at moePilot.workspace.maxFiles (${settings.maxFiles}) files`;
                }
            }
            await drain();
            if (overTime()) {
                complete = false;
                this.statusValue.note = `the pass stopped after ${PASS_TIME_CAP_MS / 60_000} minutes; the index keeps what it read`;
            } else if (overMemory()) {
                complete = false;
                this.statusValue.note = `the index stopped at ${MAX_INDEX_CHARS / 2 ** 20} MiB of text; the rest of the workspace is not searched`;
            }
            // Only a pass that saw everything may drop what it did not see.
            if (complete && !signal.aborted)
                for (const file of this.index.paths())
                    if (!seen.has(file) && this.index.file(file)?.mtimeMs !== -1) this.index.removeFile(file);
        } catch (e: unknown) {
            if (!signal.aborted) throw e;
        } finally {
            cancelled?.dispose();
            progress?.done();
        }
        const passMs = Math.round(performance.now() - started);
        if (signal.aborted && !this.getSettings().workspace.index) return; // turned off meanwhile: it stays off
        this.statusValue = { ...this.statusValue, state: "ready", filesRead: read, passMs };
        if (this.statusValue.note) this.log.warn(`workspace index: ${this.statusValue.note}`);
        this.log.info(
            `workspace index: ${this.index.fileCount} files (${read} read), ${this.index.chunkCount} chunks in ${passMs} ms`
        );
        await this.save();
    }

    /** One file into the index; a file that cannot be read or chunked is left out (and logged), never the pass. */
    private async indexText(file: string, stat: { mtimeMs: number; size: number }, text: string | undefined) {
        if (text === undefined) {
            this.index.removeFile(file);
            return;
        }
        try {
            this.index.setFile(file, stat, await this.chunker.chunk(file, text));
        } catch (e: unknown) {
            this.log.warn(`workspace index: ${file} left out (${errorMessage(e)})`);
            this.index.removeFile(file);
        }
    }

    private async refreshFromDisk(file: string) {
        if (!(await this.wanted(file))) {
            if (this.index.file(file)) this.forget(file);
            return;
        }
        const stat = await fs.stat(file).catch(() => undefined);
        // Not a regular file (a FIFO would block the read forever), or too large: left out.
        if (!stat?.isFile() || stat.size > this.getSettings().workspace.maxFileKiB * 1024) {
            this.index.removeFile(file);
            this.scheduleSave();
            return;
        }
        const text = await readTextFile(file);
        await this.lane.run(Priority.Background, undefined, () =>
            this.indexText(file, { mtimeMs: stat.mtimeMs, size: stat.size }, text)
        );
        this.scheduleSave();
    }

    private forget(file: string) {
        for (const known of this.index.paths())
            if (known === file || known.startsWith(file + path.sep)) this.index.removeFile(known);
        this.scheduleSave();
    }

    /** An open document's text, indexed a moment after the user stops typing. */
    private scheduleEdit(uri: string) {
        const file = filePath(uri);
        if (!file || !this.inFolders(file) || !this.getSettings().workspace.index) return;
        clearTimeout(this.editTimers.get(uri));
        this.editTimers.set(
            uri,
            setTimeout(() => {
                this.editTimers.delete(uri);
                const doc = this.documents.get(uri);
                if (!doc || doc.getText().length > this.getSettings().workspace.maxFileKiB * 1024) return;
                void this.wanted(file).then((wanted) => {
                    if (!wanted) return;
                    return this.lane
                        .run(Priority.Background, undefined, async () => {
                            const current = this.documents.get(uri);
                            if (!current) return;
                            const text = current.getText().replace(/\r\n/g, "\n");
                            await this.indexText(file, { mtimeMs: -1, size: text.length }, text);
                        })
                        .then(() => this.scheduleSave())
                        .catch((e: unknown) => this.log.warn(`workspace index: ${errorMessage(e)}`));
                });
            }, EDIT_DEBOUNCE_MS)
        );
    }

    private scheduleSave() {
        if (this.saveTimer) return;
        this.saveTimer = setTimeout(() => {
            this.saveTimer = undefined;
            void this.save();
        }, SAVE_DEBOUNCE_MS);
    }

    private save(): Promise<void> {
        clearTimeout(this.saveTimer);
        this.saveTimer = undefined;
        this.saving = this.saving.then(() => this.saveNow());
        return this.saving;
    }

    private async saveNow() {
        const store = this.store;
        if (!store || this.index.version === this.savedVersion) return;
        const version = this.index.version;
        const index = this.index;
        const { snapshot, added, removed } = index.takeSnapshot(STORE_VERSION);
        try {
            await store.save(snapshot, added, removed);
            this.savedVersion = version;
        } catch (e: unknown) {
            // What did not reach the store goes into the next snapshot.
            index.returnPending(added, removed);
            this.log.warn(`workspace index: could not save (${errorMessage(e)})`);
        }
    }
}

function filePath(uri: string): string | undefined {
    if (!uri.startsWith("file:")) return undefined;
    try {
        return fileURLToPath(uri);
    } catch {
        return undefined;
    }
}

/** The workspace folders `initialize` names (its `workspaceFolders`, else the older `rootUri`). */
function foldersOf(params: InitializeParams | undefined): string[] {
    const uris = params?.workspaceFolders?.map((f) => f.uri) ?? (params?.rootUri ? [params.rootUri] : []);
    return uris.map(filePath).filter((f): f is string => f !== undefined);
}
