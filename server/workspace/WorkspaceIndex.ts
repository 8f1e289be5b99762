/**
 * The workspace index: every indexed file cut into chunks (chunker.ts), a lexical index over
 * them (BM25 via MiniSearch, with code-aware tokens: `addItem` is `additem`, `add` and `item`),
 * and a symbol table for definition lookups by name. Pure bookkeeping: reading files, timing and
 * the LSP wiring are WorkspaceFeature's; persistence is IndexStore's.
 */
import MiniSearch, { type AsPlainObject } from "minisearch";
import { type Chunk, contentHash } from "./chunker";

export type IndexedChunk = {
    id: number;
    file: string;
    startLine: number;
    endLine: number;
    symbols: string[];
    hash: string;
};

export type FileEntry = {
    /** -1: the text came from the editor (an open document), not from disk. */
    mtimeMs: number;
    size: number;
    chunks: number[];
};

export type SearchHit = { chunk: IndexedChunk; text: string; score: number };

/** What a restart reads back instead of the files. */
export type IndexSnapshot = {
    version: number;
    files: Record<string, FileEntry>;
    chunks: IndexedChunk[];
    nextId: number;
    lexical: AsPlainObject;
};

type LexicalDoc = { id: number; text: string; symbols: string };

/**
 * Words in nearly every chunk of code: they rank nothing and would take most of the index's
 * memory (every chunk's posting for `return`).
 */
const STOP_WORDS = new Set(
    (
        "the and for not are but can was has had its you all any our out use this that with from have been will into what when then " +
        "const let var function return if else new this true false null undefined typeof instanceof void async await export import " +
        "default class extends super static public private protected readonly string number boolean object any unknown never type " +
        "def self none pass elif lambda yield raise try except finally while break continue in is of as or"
    ).split(" ")
);

/** Identifier-aware terms: whole words, and their camelCase / snake_case parts, lower-cased; common words left out. */
export function codeTerms(text: string): string[] {
    const terms: string[] = [];
    for (const word of text.match(/[A-Za-z_$][\w$]*/g) ?? []) {
        const lower = word.toLowerCase();
        if (STOP_WORDS.has(lower)) continue;
        terms.push(lower);
        const parts = word
            .replace(/([a-z\d])([A-Z])/g, "$1 $2")
            .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
            .split(/[\s_$]+/)
            .filter((p) => p.length > 1);
        if (parts.length > 1) for (const p of parts) if (!STOP_WORDS.has(p.toLowerCase())) terms.push(p.toLowerCase());
    }
    return terms;
}

const LEXICAL_OPTIONS = {
    fields: ["text", "symbols"],
    tokenize: (text: string) => codeTerms(text),
    processTerm: (term: string) => (term.length > 1 && term.length < 64 ? term : null),
    searchOptions: { boost: { symbols: 3 }, combineWith: "OR" as const }
};

export class WorkspaceIndex {
    private files = new Map<string, FileEntry>();
    private chunks = new Map<number, IndexedChunk>();
    private texts = new Map<string, { text: string; refs: number }>();
    /** Symbol name (full, first and last segment) → chunk ids. */
    private symbols = new Map<string, Set<number>>();
    private lexical = new MiniSearch<LexicalDoc>(LEXICAL_OPTIONS);
    private nextId = 1;
    /** Texts added and dropped since the last snapshot, for the store's batch. */
    private pending = { added: new Map<string, string>(), removed: new Set<string>() };
    /** Bumped on every change: a snapshot is due when it differs from the saved one. */
    version = 0;
    /** Changes per file, so a change elsewhere can be told from a change of one file (`versionExcept`). */
    private changes = new Map<string, number>();

    /** The version counting only changes to files other than `file`. */
    versionExcept(file: string | undefined): number {
        return this.version - (file ? (this.changes.get(file) ?? 0) : 0);
    }

    private changed(path: string) {
        this.version++;
        this.changes.set(path, (this.changes.get(path) ?? 0) + 1);
    }

    get fileCount(): number {
        return this.files.size;
    }

    get chunkCount(): number {
        return this.chunks.size;
    }

    /** Characters of chunk text held (kept as a running sum: the walk asks after every file). */
    textChars = 0;

    file(path: string): FileEntry | undefined {
        return this.files.get(path);
    }

    paths(): string[] {
        return [...this.files.keys()];
    }

    /** `path`'s chunk texts, in order (a file's text, less what no chunk holds). */
    fileText(path: string): string {
        return (this.files.get(path)?.chunks ?? [])
            .map((id) => this.chunks.get(id))
            .map((c) => (c ? (this.texts.get(c.hash)?.text ?? "") : ""))
            .join("\n");
    }

    /** The top-level names `path`'s chunks define (what a namespace import of it can reach, if exported). */
    topLevelSymbols(path: string): string[] {
        const names = new Set<string>();
        for (const id of this.files.get(path)?.chunks ?? [])
            for (const symbol of this.chunks.get(id)?.symbols ?? []) names.add(symbol.split(".")[0]!);
        return [...names];
    }

    /** Replaces `path`'s chunks. */
    setFile(path: string, stat: { mtimeMs: number; size: number }, chunks: Chunk[]) {
        this.removeFile(path);
        const ids: number[] = [];
        for (const c of chunks) {
            const id = this.nextId++;
            const hash = contentHash(c.text);
            const chunk: IndexedChunk = {
                id,
                file: path,
                startLine: c.startLine,
                endLine: c.endLine,
                symbols: c.symbols,
                hash
            };
            this.addChunk(chunk, c.text);
            ids.push(id);
        }
        this.files.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, chunks: ids });
        this.changed(path);
    }

    removeFile(path: string) {
        const entry = this.files.get(path);
        if (!entry) return;
        for (const id of entry.chunks) {
            const chunk = this.chunks.get(id);
            if (!chunk) continue;
            this.chunks.delete(id);
            this.lexical.discard(id);
            for (const name of symbolKeys(chunk.symbols)) this.symbols.get(name)?.delete(id);
            const text = this.texts.get(chunk.hash);
            if (text && --text.refs === 0) {
                this.texts.delete(chunk.hash);
                this.textChars -= text.text.length;
                if (!this.pending.added.delete(chunk.hash)) this.pending.removed.add(chunk.hash);
            }
        }
        this.files.delete(path);
        this.changed(path);
    }

    /** The best chunks for `query` by BM25; `filter` keeps only some. */
    search(query: string, limit: number, filter?: (chunk: IndexedChunk) => boolean): SearchHit[] {
        if (this.chunks.size === 0 || query.trim() === "") return [];
        const hits: SearchHit[] = [];
        for (const r of this.lexical.search(query)) {
            const chunk = this.chunks.get(r.id as number);
            if (!chunk || (filter && !filter(chunk))) continue;
            hits.push({ chunk, text: this.texts.get(chunk.hash)?.text ?? "", score: r.score });
            if (hits.length >= limit) break;
        }
        return hits;
    }

    /** Chunks that define `name` (a class, a function, a member), outside `exceptFile`. */
    definitions(name: string, exceptFile?: string): SearchHit[] {
        const ids = this.symbols.get(name);
        if (!ids) return [];
        const hits: SearchHit[] = [];
        for (const id of ids) {
            const chunk = this.chunks.get(id);
            if (!chunk || chunk.file === exceptFile) continue;
            // The chunk that names it first (its declaration) before the ones that only contain members.
            const rank = chunk.symbols.findIndex(
                (s) => s === name || s.startsWith(`${name}.`) || s.endsWith(`.${name}`)
            );
            hits.push({ chunk, text: this.texts.get(chunk.hash)?.text ?? "", score: -rank });
        }
        return hits.sort((a, b) => b.score - a.score || a.chunk.startLine - b.chunk.startLine);
    }

    /** The chunk of `path` that holds `line`, if indexed. */
    chunkAt(path: string, line: number): SearchHit | undefined {
        for (const id of this.files.get(path)?.chunks ?? []) {
            const chunk = this.chunks.get(id);
            if (chunk && chunk.startLine <= line && line <= chunk.endLine)
                return { chunk, text: this.texts.get(chunk.hash)?.text ?? "", score: 0 };
        }
        return undefined;
    }

    /** The snapshot to persist, with the texts added and removed since the previous one. */
    takeSnapshot(version: number): { snapshot: IndexSnapshot; added: Map<string, string>; removed: Set<string> } {
        const pending = this.pending;
        this.pending = { added: new Map(), removed: new Set() };
        return {
            snapshot: {
                version,
                files: Object.fromEntries(this.files),
                chunks: [...this.chunks.values()],
                nextId: this.nextId,
                lexical: this.lexical.toJSON()
            },
            added: pending.added,
            removed: pending.removed
        };
    }

    /** A snapshot's texts that did not reach the store (the write failed): they go into the next one. */
    returnPending(added: Map<string, string>, removed: Set<string>) {
        for (const [hash, text] of added) if (this.texts.has(hash)) this.pending.added.set(hash, text);
        for (const hash of removed) if (!this.texts.has(hash)) this.pending.removed.add(hash);
    }

    /** A snapshot read back with its texts; chunks whose text is missing are dropped with their file (read again). */
    static restore(snapshot: IndexSnapshot, texts: Map<string, string>): WorkspaceIndex {
        const index = new WorkspaceIndex();
        index.lexical = MiniSearch.loadJS<LexicalDoc>(snapshot.lexical, LEXICAL_OPTIONS);
        index.nextId = snapshot.nextId;
        const broken = new Set<string>();
        for (const chunk of snapshot.chunks) {
            const text = texts.get(chunk.hash);
            if (text === undefined) broken.add(chunk.file);
            index.chunks.set(chunk.id, chunk);
            const entry = index.texts.get(chunk.hash);
            if (entry) entry.refs++;
            else {
                index.texts.set(chunk.hash, { text: text ?? "", refs: 1 });
                index.textChars += (text ?? "").length;
            }
            for (const name of symbolKeys(chunk.symbols)) index.symbolSet(name).add(chunk.id);
        }
        index.files = new Map(Object.entries(snapshot.files));
        for (const file of broken) index.removeFile(file);
        index.pending = { added: new Map(), removed: new Set() };
        return index;
    }

    private addChunk(chunk: IndexedChunk, text: string) {
        this.chunks.set(chunk.id, chunk);
        const existing = this.texts.get(chunk.hash);
        if (existing) existing.refs++;
        else {
            this.texts.set(chunk.hash, { text, refs: 1 });
            this.textChars += text.length;
            if (!this.pending.removed.delete(chunk.hash)) this.pending.added.set(chunk.hash, text);
        }
        this.lexical.add({ id: chunk.id, text, symbols: chunk.symbols.join(" ") });
        for (const name of symbolKeys(chunk.symbols)) this.symbolSet(name).add(chunk.id);
    }

    private symbolSet(name: string): Set<number> {
        let set = this.symbols.get(name);
        if (!set) this.symbols.set(name, (set = new Set()));
        return set;
    }
}

/** "Cart.addItem" is found as itself, as "Cart" and as "addItem". */
function symbolKeys(symbols: readonly string[]): Set<string> {
    const keys = new Set<string>();
    for (const s of symbols) {
        keys.add(s);
        const parts = s.split(".");
        keys.add(parts[0]!);
        keys.add(parts[parts.length - 1]!);
    }
    return keys;
}
