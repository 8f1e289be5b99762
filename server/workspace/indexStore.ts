/**
 * The index kept between runs of the editor, in LevelDB (`classic-level`, the Level project's
 * binding: prebuilt binaries for each platform inside the npm package, so it installs from npm
 * alone with no compiler and no download; N-API, so the same binary runs under Node and under
 * VS Code's Electron). A key-value store fits what is kept: one snapshot of the file table and
 * the lexical index, written in one atomic batch with the chunk texts it refers to, and
 * embeddings by content hash, which survive edits elsewhere in their file and are shared
 * between files with the same chunk.
 *
 * Keys: `snapshot` (JSON), `t:<hash>` (a chunk's text), `e:<model>:<hash>` (an embedding).
 */
import { mkdirSync } from "node:fs";
import { ClassicLevel } from "classic-level";

/** Bumped whenever the snapshot's shape or the chunking changes: an older store is read from scratch. */
export const STORE_VERSION = 1;

export class IndexStore {
    private constructor(private readonly db: ClassicLevel<string, string>) {}

    /** Opens (or creates) the store in `dir`; undefined with the reason when it cannot (another editor window holds it, a read-only disk). */
    static async open(dir: string): Promise<IndexStore | string> {
        try {
            mkdirSync(dir, { recursive: true });
            const db = new ClassicLevel<string, string>(dir, { valueEncoding: "utf8" });
            await db.open();
            return new IndexStore(db);
        } catch (e: unknown) {
            const cause = (e as { cause?: { message?: string } }).cause?.message;
            return `${(e as Error).message}${cause ? ` (${cause})` : ""}`;
        }
    }

    async snapshot<T>(): Promise<T | undefined> {
        const raw = await this.db.get("snapshot");
        return raw === undefined ? undefined : (JSON.parse(raw) as T);
    }

    async texts(hashes: Iterable<string>): Promise<Map<string, string>> {
        const keys = [...hashes];
        const values = await this.db.getMany(keys.map((h) => `t:${h}`));
        const out = new Map<string, string>();
        keys.forEach((h, i) => {
            const v = values[i];
            if (v !== undefined) out.set(h, v);
        });
        return out;
    }

    /** The snapshot, the texts it newly refers to and the texts no longer referred to, in one atomic write. */
    async save(snapshot: unknown, added: Map<string, string>, removed: Iterable<string>) {
        const batch = this.db.batch();
        for (const [hash, text] of added) batch.put(`t:${hash}`, text);
        for (const hash of removed) batch.del(`t:${hash}`);
        batch.put("snapshot", JSON.stringify(snapshot));
        await batch.write();
    }

    async embedding(model: string, hash: string): Promise<Float32Array | undefined> {
        const raw = await this.db.get(`e:${model}:${hash}`);
        if (raw === undefined) return undefined;
        const bytes = Buffer.from(raw, "base64");
        return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    }

    async putEmbedding(model: string, hash: string, vector: Float32Array) {
        await this.db.put(
            `e:${model}:${hash}`,
            Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64")
        );
    }

    async clear() {
        await this.db.clear();
    }

    async close() {
        await this.db.close();
    }
}
