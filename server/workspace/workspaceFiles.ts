/**
 * Which files of the workspace folders the index reads: source and documentation files, not
 * ignored by a `.gitignore` on the way down (the `ignore` package: git's own rules), not
 * excluded by the editor's `files.exclude` globs (picomatch, the globs VS Code uses), not over
 * the size cap, and not binary.
 */
import { type Dirent, promises as fs } from "node:fs";
import path from "node:path";
import ignore, { type Ignore } from "ignore";
import picomatch from "picomatch";

export type FileLimits = {
    /** Files larger than this are left out (generated code, data). */
    maxFileBytes: number;
    /** The walk stops after this many files, and says so. */
    maxFiles: number;
};

export type FoundFile = { path: string; mtimeMs: number; size: number };

/** Extensions of the text files worth retrieving from. */
const INDEXED = new Set(
    (
        ".ts .mts .cts .tsx .js .mjs .cjs .jsx .py .go .rs .java .kt .kts .scala .c .h .cc .cpp .hpp .cs .rb .php .swift " +
        ".sh .bash .css .scss .less .html .vue .svelte .lua .dart .ex .exs .erl .hs .ml .sql .r .jl .zig .md .toml .yaml .yml"
    ).split(" ")
);

/** Never worth walking into, whatever the ignore files say. */
const NEVER = new Set([".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"]);

export type Excludes = (relative: string) => boolean;

/** `files.exclude` as VS Code has it: glob → true (or a `when` clause, which counts as not excluded). */
export function excludesFrom(filesExclude: unknown): Excludes {
    const globs =
        filesExclude && typeof filesExclude === "object"
            ? Object.entries(filesExclude as Record<string, unknown>)
                  .filter(([, on]) => on === true)
                  .map(([glob]) => glob)
            : [];
    if (globs.length === 0) return () => false;
    const match = picomatch(globs, { dot: true });
    return (relative) => match(relative);
}

function isIndexable(file: string): boolean {
    return INDEXED.has(path.extname(file).toLowerCase());
}

/**
 * Walks `folder`; `onFile` sees each file that passes. Returns false when `maxFiles` cut the walk short.
 * `shouldStop` is asked between folders (a cancelled or superseded walk).
 */
export async function walkFolder(
    folder: string,
    limits: FileLimits,
    excludes: Excludes,
    onFile: (file: FoundFile) => Promise<void> | void,
    shouldStop: () => boolean,
    counted = { files: 0 }
): Promise<boolean> {
    const stack: { dir: string; rules: { base: string; ig: Ignore }[] }[] = [{ dir: folder, rules: [] }];
    while (stack.length > 0) {
        if (shouldStop()) return true;
        const { dir, rules: inherited } = stack.pop()!;
        let entries: Dirent[];
        try {
            entries = await fs.readdir(dir, { withFileTypes: true });
        } catch {
            continue; // unreadable, or gone meanwhile
        }
        const rules = [...inherited];
        if (entries.some((e) => e.name === ".gitignore" && e.isFile())) {
            const text = await fs.readFile(path.join(dir, ".gitignore"), "utf8").catch(() => "");
            rules.push({ base: dir, ig: ignore().add(text) });
        }
        const ignored = (full: string, isDir: boolean) =>
            rules.some(({ base, ig }) => {
                const relative = path.relative(base, full).split(path.sep).join("/");
                return relative !== "" && ig.ignores(isDir ? `${relative}/` : relative);
            });
        for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
            const full = path.join(dir, entry.name);
            const relative = path.relative(folder, full).split(path.sep).join("/");
            if (entry.isDirectory()) {
                if (NEVER.has(entry.name) || ignored(full, true) || excludes(relative)) continue;
                stack.push({ dir: full, rules });
            } else if (entry.isFile() && isIndexable(entry.name)) {
                if (ignored(full, false) || excludes(relative)) continue;
                const stat = await fs.stat(full).catch(() => undefined);
                if (!stat || stat.size > limits.maxFileBytes) continue;
                if (counted.files >= limits.maxFiles) return false;
                counted.files++;
                await onFile({ path: full, mtimeMs: stat.mtimeMs, size: stat.size });
            }
        }
    }
    return true;
}

/**
 * Whether a file that an event names (a watched-file change, an open document) is one the walk
 * would have indexed: under none of the skipped folders, not ignored by a `.gitignore` on the
 * way down from its workspace folder, not excluded, of an indexed kind.
 */
export async function isWalked(folder: string, file: string, excludes: Excludes): Promise<boolean> {
    const relative = path.relative(folder, file).split(path.sep).join("/");
    if (relative.startsWith("..") || !isIndexable(file) || excludes(relative)) return false;
    const parts = relative.split("/");
    if (parts.slice(0, -1).some((p) => NEVER.has(p))) return false;
    for (let i = 0; i < parts.length; i++) {
        const base = path.join(folder, ...parts.slice(0, i));
        const text = await fs.readFile(path.join(base, ".gitignore"), "utf8").catch(() => undefined);
        if (text !== undefined && ignore().add(text).ignores(parts.slice(i).join("/"))) return false;
        if (i > 0 && excludes(parts.slice(0, i).join("/"))) return false;
    }
    return true;
}

/** The file's text, or undefined when it is binary (a NUL byte) or unreadable. */
export async function readTextFile(file: string): Promise<string | undefined> {
    try {
        const bytes = await fs.readFile(file);
        if (bytes.subarray(0, 8192).includes(0)) return undefined;
        return bytes.toString("utf8").replace(/\r\n/g, "\n");
    } catch {
        return undefined;
    }
}
