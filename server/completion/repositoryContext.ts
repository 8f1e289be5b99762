/**
 * Repository context for a completion prompt (Tabby's declarations and recently changed code,
 * Continue's imports and recently edited ranges): the definitions of the names used near the
 * cursor that live in other files, and code similar to the cursor's from recently edited files.
 *
 * Definitions come from the editor's language features where the client offers them
 * (`moePilot/definitions`), else from the workspace index by name. Everything is derived from
 * the lines above the cursor and the words of the cursor's line that are already complete, so
 * the snippets (which open the prompt) stay the same while the user types within a word or a
 * line, and the model's KV cache keeps them: a keystroke costs a few prompt tokens, not the
 * whole context.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SearchHit, WorkspaceIndex } from "../workspace/WorkspaceIndex";
import {
    declaredType,
    exportedNames,
    assignedFields,
    isPublicMember,
    type MemberAccess,
    memberAccessAt,
    memberContinuations,
    moduleFiles,
    namespaceModule
} from "./memberAccess";
import type { OpenDocument } from "./promptInput";

export type Snippet = { path: string; text: string };

type Position = { line: number; character: number };
export type DefinitionLookup = (
    positions: Position[],
    kind?: "definition" | "typeDefinition"
) => Promise<{ uri: string; line: number; character: number }[][]>;

const REPOSITORY_CONTEXT = {
    /** Lines above the cursor whose names are looked up, and whose text is the similarity query. */
    lookbackLines: 12,
    queryLines: 8,
    /** The nearest names looked up, at most. */
    names: 8,
    definitions: 3,
    similar: 2
} as const;

/** Lines above the cursor searched for the declaration of the object before a `.`. */
const MEMBER_LOOKBACK_LINES = 200;

/** Lines longer than this (minified code) are read only this far. */
const MAX_LINE_CHARS = 500;

/** Words that are never a definition worth retrieving. */
const KEYWORDS = new Set(
    (
        "abstract as async await boolean break case catch class const constructor continue def default del delete do elif else enum export " +
        "extends false final finally for from func function get global if implements import in instanceof interface is lambda let new nil " +
        "none not null number object of or pass private protected public raise readonly return self set static string super switch this " +
        "throw true try type typeof undefined var void while with yield"
    ).split(" ")
);

/** A name and where it is near the cursor (imported names are not located: the editor is not asked about them). */
type Name = { name: string; position?: Position };

/** The names near the cursor, nearest first: lines above, and the cursor's line up to its last complete word. */
export function namesNearCursor(doc: OpenDocument, position: Position): (Name & { position: Position })[] {
    const from = Math.max(0, position.line - REPOSITORY_CONTEXT.lookbackLines);
    const lines = doc
        .getText({ start: { line: from, character: 0 }, end: { line: position.line + 1, character: 0 } })
        .replace(/\r\n/g, "\n")
        .split("\n");
    const found: (Name & { position: Position })[] = [];
    const seen = new Set<string>();
    for (let i = position.line - from; i >= 0; i--) {
        let text = lines[i] ?? "";
        // On the cursor's line, the word being typed is left out: the context must not change with each letter.
        if (i === position.line - from) {
            text = text.slice(0, position.character);
            let end = text.length;
            while (end > 0 && /[\w$]/.test(text[end - 1]!)) end--;
            text = text.slice(0, end);
        }
        // A minified line says nothing about the names near the cursor, and costs time.
        text = text.slice(-MAX_LINE_CHARS);
        const words = [...text.matchAll(/[A-Za-z_$][\w$]*/g)].reverse();
        for (const m of words) {
            const name = m[0];
            if (name.length < 3 || KEYWORDS.has(name.toLowerCase()) || seen.has(name)) continue;
            seen.add(name);
            found.push({ name, position: { line: from + i, character: m.index + Math.floor(name.length / 2) } });
            if (found.length >= REPOSITORY_CONTEXT.names) return found;
        }
    }
    return found;
}

/** Import statements of JavaScript/TypeScript (ES and CommonJS) and Python, and the names they bring in. */
const IMPORTS = [
    // Each optional part owns the spaces after it, so no two quantifiers compete for the same spaces.
    /^\s*import\s+(?:type\s+)?(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}\s*)?(?:\*\s+as\s+([\w$]+)\s*)?from\b/,
    /^\s*(?:const|let|var)\s+(?:([\w$]+)|\{([^}]*)\})\s*=\s*require\(/,
    /^\s*from\s+[\w.]+\s+import\s+\(?([\w\s,]+)\)?/
];

/** The names the file imports (what other files define, by construction), in the order they appear. */
export function importedNames(doc: OpenDocument): string[] {
    const head = doc.getText({
        start: { line: 0, character: 0 },
        end: { line: Math.min(doc.lineCount, 200), character: 0 }
    });
    const names: string[] = [];
    for (const line of head.split("\n")) {
        if (line.length > MAX_LINE_CHARS || !/\b(import|require)\b/.test(line)) continue;
        for (const pattern of IMPORTS) {
            const m = pattern.exec(line);
            if (!m) continue;
            for (const group of m.slice(1))
                for (const part of (group ?? "").split(",")) {
                    // `a as b` brings in b, but a is what the other file defines.
                    const name = part
                        .trim()
                        .split(/\s+as\s+/)[0]!
                        .replace(/^type\s+/, "")
                        .split(":")[0]!
                        .trim();
                    if (/^[A-Za-z_$][\w$]*$/.test(name) && !names.includes(name)) names.push(name);
                }
            break;
        }
    }
    return names;
}

/** The lines just above the cursor, for finding similar code. */
function similarityQuery(doc: OpenDocument, position: Position): string {
    const from = Math.max(0, position.line - REPOSITORY_CONTEXT.queryLines);
    return doc.getText({ start: { line: from, character: 0 }, end: { line: position.line, character: 0 } });
}

export class RepositoryContext {
    /** The last result, by what it was derived from: the same input gives the same snippets without asking again. */
    private last?: { key: string; snippets: Promise<Snippet[]> };
    /** The last type's or module's members, by its name and the index version (the same `cart.` while typing a member). */
    private lastMembers?: { key: string; names: Promise<string[]> };
    /** The editor's answer for the last receiver (asked when no declaration above the cursor gives its type). */
    private lastEditorType?: { key: string; type: Promise<string | undefined> };

    constructor(
        private readonly index: () => WorkspaceIndex,
        private readonly relative: (file: string) => string,
        private readonly memberNames: (file: string, text: string, typeName: string) => Promise<string[]>
    ) {}

    /**
     * After `object.`: the rest of each member name of the object's type (or of the module it
     * imports as a namespace) that fits what is typed, when the index has the type's declaration
     * or the module's file (memberAccess.ts); else none.
     */
    async memberContinuations(doc: OpenDocument, position: Position, lookup?: DefinitionLookup): Promise<string[]> {
        const access = memberAccessBefore(doc, position);
        if (!access) return [];
        const index = this.index();
        const self = filePath(doc.uri);
        const head = doc.getText({
            start: { line: 0, character: 0 },
            end: { line: Math.min(position.line, 200), character: 0 }
        });
        const module = self && namespaceModule(head, access.receiver);
        if (module) {
            // `messages.` after `import * as messages from "./messages"`: the names that file exports.
            const file = moduleFiles(self.split(path.sep).join("/"), module, path.posix.join)
                .map((f) => f.split("/").join(path.sep))
                .find((f) => index.file(f) !== undefined);
            if (!file) return [];
            // Read once per module and index version, not at each letter of the member's name.
            const key = JSON.stringify(["module", file, index.version]);
            if (this.lastMembers?.key !== key)
                this.lastMembers = {
                    key,
                    names: Promise.resolve(exportedNames(index.topLevelSymbols(file), index.fileText(file)))
                };
            return memberContinuations(await this.lastMembers.names, access.typed);
        }
        let type = receiverType(doc, position, access);
        if (!type && lookup) {
            // The receiver stays where it is while the member's name is typed: the editor is asked once for it.
            const at = {
                line: position.line,
                character: Math.max(0, position.character - access.typed.length - 1 - access.receiver.length)
            };
            const key = JSON.stringify([doc.uri, at, access.receiver, index.version]);
            if (this.lastEditorType?.key !== key)
                this.lastEditorType = { key, type: this.editorType(index, lookup, at) };
            type = await this.lastEditorType.type;
        }
        if (!type) return [];
        const key = JSON.stringify([type, index.version]);
        if (this.lastMembers?.key !== key) this.lastMembers = { key, names: this.membersOf(type) };
        return memberContinuations(await this.lastMembers.names, access.typed);
    }

    /** The type the editor says the receiver has (go to type definition), as the name its declaration gives it. */
    private async editorType(
        index: WorkspaceIndex,
        lookup: DefinitionLookup,
        at: Position
    ): Promise<string | undefined> {
        const [found] = await lookup([at], "typeDefinition").catch(() => {
            // Too late or failed (a language server still starting): asked again next time, not remembered.
            this.lastEditorType = undefined;
            return [[]];
        });
        for (const loc of found ?? []) {
            const file = filePath(loc.uri);
            const hit = file && index.chunkAt(file, loc.line);
            const line = hit ? hit.text.split("\n")[loc.line - hit.chunk.startLine] : undefined;
            const name = line && /^[A-Za-z_$][\w$]*/.exec(line.slice(loc.character))?.[0];
            if (name) return name;
        }
        return undefined;
    }

    private async membersOf(type: string): Promise<string[]> {
        const names = new Set<string>();
        for (const hit of this.index().definitions(type)) {
            // A class cut into its members names them ("Cart.addItem"); a class in one chunk is read for them.
            for (const symbol of hit.chunk.symbols) {
                const [owner, member] = symbol.split(".");
                if (owner === type && member && isPublicMember(hit.text, member)) names.add(member);
            }
            const whole = hit.chunk.symbols.includes(type);
            if (whole) for (const name of await this.memberNames(hit.chunk.file, hit.text, type)) names.add(name);
            // Fields JavaScript declares by assigning them (`this.major = …`), in the class or its constructor's chunk.
            if (whole || hit.chunk.symbols.includes(`${type}.constructor`))
                for (const name of assignedFields(hit.text)) names.add(name);
        }
        return [...names];
    }

    snippets(
        doc: OpenDocument,
        position: Position,
        recentFiles: readonly string[],
        lookup: DefinitionLookup | undefined
    ): Promise<Snippet[]> {
        const near = namesNearCursor(doc, position);
        // After `cart.`, the type `cart` was declared with comes first, however far above: its
        // members are what is about to be typed. Stable while the member's name is typed.
        const access = memberAccessBefore(doc, position);
        const type = access && receiverType(doc, position, access);
        const first: Name[] = type ? [{ name: type }] : [];
        // Then what the file imports: the name about to be typed is often one of them (`new SemVer(`).
        const names: Name[] = [
            ...first,
            ...near.filter((n) => n.name !== type),
            ...importedNames(doc)
                .filter((name) => name !== type && !near.some((n) => n.name === name))
                .map((name) => ({ name, position: undefined }))
        ];
        const query = similarityQuery(doc, position);
        const key = JSON.stringify([
            doc.uri,
            names.map((n) => n.name),
            query,
            recentFiles,
            // The current file is re-indexed as the user types: only other files' changes can change the context.
            this.index().versionExcept(filePath(doc.uri))
        ]);
        if (this.last?.key === key) return this.last.snippets;
        const snippets = this.compute(doc, key, names, query, recentFiles, lookup);
        this.last = { key, snippets };
        snippets.catch(() => {
            if (this.last?.snippets === snippets) this.last = undefined;
        });
        return snippets;
    }

    private async compute(
        doc: OpenDocument,
        key: string,
        names: Name[],
        query: string,
        recentFiles: readonly string[],
        lookup: DefinitionLookup | undefined
    ): Promise<Snippet[]> {
        const index = this.index();
        const self = filePath(doc.uri);
        const picked: SearchHit[] = [];
        let lookupFailed = false;
        const has = (hit: SearchHit) => picked.some((p) => p.chunk.id === hit.chunk.id);
        const add = (hit: SearchHit | undefined) => {
            if (hit && hit.chunk.file !== self && !has(hit)) picked.push(hit);
        };

        // The editor's definitions first: they know imports, types and scopes.
        const located = names.filter((n) => n.position !== undefined);
        const resolved = new Set<string>();
        if (lookup && located.length > 0) {
            const locations = await lookup(located.map((n) => n.position!)).catch(() => {
                lookupFailed = true;
                return [];
            });
            for (const [i, list] of locations.entries()) {
                // The editor knows where this name is (here, a local, a library): no guessing by name.
                if (list.length > 0) resolved.add(located[i]!.name);
                for (const loc of list) {
                    const file = filePath(loc.uri);
                    if (file && picked.length < REPOSITORY_CONTEXT.definitions) add(index.chunkAt(file, loc.line));
                }
            }
        }
        // Then the index, by name, for what the editor did not resolve (or for an editor without definitions).
        for (const { name } of names) {
            if (picked.length >= REPOSITORY_CONTEXT.definitions) break;
            if (resolved.has(name)) continue;
            const found = index.definitions(name);
            // A name this file defines itself is in the prompt already, or nearer than any other file's.
            if (found.some((h) => h.chunk.file === self)) continue;
            add(found[0]);
        }
        // Similar code from the files the user edited lately.
        const recent = new Set(recentFiles.map(filePath).filter((f) => f !== undefined && f !== self));
        if (recent.size > 0 && query.trim() !== "")
            for (const hit of index.search(query, REPOSITORY_CONTEXT.similar, (c) => recent.has(c.file))) add(hit);

        // A lookup that failed or came too late is asked again next time, rather than remembered.
        if (lookupFailed && this.last?.key === key) this.last = undefined;
        return picked.map((hit) => ({
            path: `${this.relative(hit.chunk.file)}:${hit.chunk.startLine + 1}`,
            text: hit.text
        }));
    }
}

/** The `object.` (and the member typed after it) just before the cursor, if any. */
function memberAccessBefore(doc: OpenDocument, position: Position): MemberAccess | undefined {
    return memberAccessAt(doc.getText({ start: { line: position.line, character: 0 }, end: position }));
}

/** The type the object of `access` is declared with above the cursor (memberAccess.ts `declaredType`), if any. */
function receiverType(doc: OpenDocument, position: Position, access: MemberAccess): string | undefined {
    const above = doc.getText({
        start: { line: Math.max(0, position.line - MEMBER_LOOKBACK_LINES), character: 0 },
        end: position
    });
    return declaredType(above.slice(0, above.length - access.typed.length), access.receiver);
}

function filePath(uri: string): string | undefined {
    if (!uri.startsWith("file:")) return path.isAbsolute(uri) ? uri : undefined;
    try {
        return fileURLToPath(uri);
    } catch {
        return undefined;
    }
}
