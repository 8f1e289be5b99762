/**
 * A file cut into chunks a prompt can hold: by syntax where a tree-sitter grammar exists
 * (VS Code's own prebuilt WebAssembly grammars, `@vscode/tree-sitter-wasm`), by lines otherwise.
 * Each chunk carries the name of the symbol it defines or sits in ("Cart.addItem"), which the
 * lexical index weighs and the completion context looks definitions up by.
 *
 * Top-level declarations become one chunk each when they fit; a class or namespace that does
 * not fit is cut into its members (named "Class.member"); small neighbours (imports, constants)
 * are merged up to the size limit, so no chunk is a lone line.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import type * as TreeSitter from "@vscode/tree-sitter-wasm";
import type { Language, Node as SyntaxNode, Parser as TsParser } from "@vscode/tree-sitter-wasm";

export type Chunk = {
    /** 0-based, inclusive. */
    startLine: number;
    endLine: number;
    /** The symbols it defines ("Cart", "Cart.addItem"), or the one it sits in; possibly none. */
    symbols: string[];
    text: string;
};

const CHUNK_LIMITS = {
    /** A chunk is cut when it is longer than this. */
    maxLines: 60,
    maxChars: 2_400,
    /** Line chunks (no grammar) are this long, and overlap by `overlapLines`. */
    lineWindow: 40,
    overlapLines: 8
} as const;

/** File extension → grammar in `@vscode/tree-sitter-wasm/wasm/tree-sitter-<name>.wasm`. */
const GRAMMARS: Record<string, string> = {
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".py": "python",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "cpp",
    ".h": "cpp",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "c-sharp",
    ".rb": "ruby",
    ".php": "php",
    ".sh": "bash",
    ".css": "css"
};

/** Node types whose members are chunked one by one when the whole does not fit. */
const CONTAINERS = /class|interface|namespace|module|impl|trait|struct|enum|object|body|block|declaration_list/;

/** A declaration's name, looking through wrappers (`export`, decorators, `const x = …`). */
function symbolOf(node: SyntaxNode): string | undefined {
    const named = node.childForFieldName("name");
    if (named) return named.text;
    for (const field of ["declaration", "definition", "declarator"]) {
        const inner = node.childForFieldName(field);
        if (inner) return symbolOf(inner);
    }
    for (const child of node.namedChildren) {
        if (!child) continue;
        if (/declarator|type_spec|declaration|definition/.test(child.type)) return symbolOf(child);
        if (/^(identifier|type_identifier|property_identifier|constant)$/.test(child.type)) return child.text;
    }
    return undefined;
}

/** The block whose children are the members of a container node, if it has one. */
function membersOf(node: SyntaxNode): SyntaxNode[] | undefined {
    const body = bodyOf(node);
    if (!body) return undefined;
    const members = body.namedChildren.filter((c): c is SyntaxNode => c !== null);
    return members.length > 1 ? members : undefined;
}

/** The body of a declaration (through `export`, decorators and `const X = class …`). */
function bodyOf(node: SyntaxNode): SyntaxNode | undefined {
    const body =
        node.childForFieldName("body") ??
        node.childForFieldName("declaration")?.childForFieldName("body") ??
        node.childForFieldName("definition")?.childForFieldName("body");
    return body && CONTAINERS.test(body.type) ? body : undefined;
}

/** The declaration named `name` among `nodes` and the declarations they wrap. */
function findDeclaration(nodes: (SyntaxNode | null)[], name: string): SyntaxNode | undefined {
    for (const node of nodes) {
        if (!node || /import|comment/.test(node.type)) continue;
        if (symbolOf(node) === name && bodyOf(node)) return node;
        // `export default class …`, `declare namespace …`, decorated Python classes.
        if (/export|decorated|ambient|expression_statement/.test(node.type)) {
            const inner = findDeclaration(node.namedChildren, name);
            if (inner) return inner;
        }
    }
    return undefined;
}

/** A member other files cannot use on an instance: `private`/`protected`, `static`, `#name`, Python's `_name` (dunders included). */
function isPrivate(member: SyntaxNode): boolean {
    if (member.namedChildren.some((c) => c?.type === "accessibility_modifier" && c.text !== "public")) return true;
    // A static member is the class's, not an instance's.
    if (/^(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:(?:public|readonly|async|override|declare)\s+)*static\b/.test(member.text))
        return true;
    if (member.namedChildren.some((c) => c?.type === "private_property_identifier")) return true;
    const name = symbolOf(member);
    return (
        name === undefined || name.startsWith("#") || (member.type === "function_definition" && name.startsWith("_"))
    );
}

type Span = { start: number; end: number; symbols: string[] };

export class Chunker {
    private parser?: TsParser;
    private readonly languages = new Map<string, Promise<Language | undefined>>();
    private runtime?: Promise<typeof TreeSitter | undefined>;

    async chunk(file: string, text: string): Promise<Chunk[]> {
        const lines = text.split("\n");
        const language = await this.language(file);
        let spans: Span[] | undefined;
        if (language && this.parser) {
            this.parser.setLanguage(language);
            const tree = this.parser.parse(text);
            try {
                if (tree) spans = this.syntaxSpans(tree.rootNode.namedChildren, lines, undefined);
            } finally {
                tree?.delete();
            }
        }
        spans ??= lineSpans(0, lines.length - 1, lines, undefined);
        return spans
            .map((s) => ({
                startLine: s.start,
                endLine: s.end,
                symbols: s.symbols,
                text: lines
                    .slice(s.start, s.end + 1)
                    .join("\n")
                    .slice(0, 2 * CHUNK_LIMITS.maxChars)
            }))
            .filter((c) => c.text.trim() !== "");
    }

    /**
     * The public members of the class or interface `typeName` declared in `text` (a chunk, or a
     * whole file): methods, fields and properties, without the constructor and what is private
     * (`private`, `#name`, Python's `_name`). Empty without a grammar or a declaration of that name.
     */
    async memberNames(file: string, text: string, typeName: string): Promise<string[]> {
        const language = await this.language(file);
        if (!language || !this.parser) return [];
        this.parser.setLanguage(language);
        const tree = this.parser.parse(text);
        if (!tree) return [];
        try {
            const declaration = findDeclaration(tree.rootNode.namedChildren, typeName);
            const body = declaration && bodyOf(declaration);
            if (!body) return [];
            const names = new Set<string>();
            for (const member of body.namedChildren) {
                if (!member || /comment|decorator/.test(member.type) || isPrivate(member)) continue;
                const name = symbolOf(member);
                if (name && /^[A-Za-z$][\w$]*$/.test(name) && name !== "constructor") names.add(name);
            }
            return [...names];
        } finally {
            tree.delete();
        }
    }

    /** How many syntax errors (ERROR and MISSING nodes) a parser finds in `text`; undefined without a grammar. */
    async syntaxErrors(file: string, text: string): Promise<number | undefined> {
        const language = await this.language(file);
        if (!language || !this.parser) return undefined;
        this.parser.setLanguage(language);
        const tree = this.parser.parse(text);
        if (!tree) return undefined;
        try {
            let errors = 0;
            // Only subtrees that contain an error are walked.
            const walk = (node: SyntaxNode) => {
                if (node.isError || node.isMissing) errors++;
                if (node.hasError) for (const child of node.children) if (child) walk(child);
            };
            walk(tree.rootNode);
            return errors;
        } finally {
            tree.delete();
        }
    }

    private syntaxSpans(nodes: (SyntaxNode | null)[], lines: string[], parent: string | undefined): Span[] {
        const spans: Span[] = [];
        let pending: Span | undefined;
        const flush = () => {
            if (pending) spans.push(pending);
            pending = undefined;
        };
        for (const node of nodes) {
            if (!node) continue;
            const start = node.startPosition.row,
                end = node.endPosition.row;
            const own = /import|comment/.test(node.type) ? undefined : symbolOf(node);
            const symbol = own ? (parent ? `${parent}.${own}` : own) : undefined;
            if (fits(lines, start, end)) {
                // Neighbours are packed together while they fit, so no chunk is a lone line.
                if (pending && fits(lines, pending.start, end)) {
                    pending.end = end;
                    if (symbol) pending.symbols.push(symbol);
                } else {
                    flush();
                    pending = { start, end, symbols: symbol ? [symbol] : parent ? [parent] : [] };
                }
                continue;
            }
            flush();
            const members = membersOf(node);
            if (members) {
                // The container's head (its signature, up to the first member) is a chunk of its own.
                const firstMember = members[0]!.startPosition.row;
                if (firstMember > start) spans.push(...lineSpans(start, firstMember - 1, lines, symbol ?? parent));
                spans.push(...this.syntaxSpans(members, lines, symbol ?? parent));
            } else spans.push(...lineSpans(start, end, lines, symbol ?? parent));
        }
        flush();
        return spans;
    }

    private async language(file: string): Promise<Language | undefined> {
        const name = GRAMMARS[path.extname(file).toLowerCase()];
        if (!name) return undefined;
        let language = this.languages.get(name);
        if (!language) {
            language = this.load(name);
            this.languages.set(name, language);
        }
        return language;
    }

    private async load(name: string): Promise<Language | undefined> {
        const ts = await this.treeSitter();
        if (!ts) return undefined;
        try {
            return await ts.Language.load(grammarPath(`tree-sitter-${name}.wasm`));
        } catch {
            return undefined; // a grammar that does not load: the file is chunked by lines
        }
    }

    private treeSitter() {
        this.runtime ??= (async () => {
            try {
                // CommonJS, and kept out of the bundle: its WebAssembly files are found beside it.
                const ts = require("@vscode/tree-sitter-wasm") as typeof TreeSitter;
                await ts.Parser.init({ locateFile: (file: string) => grammarPath(file) });
                this.parser = new ts.Parser();
                return ts;
            } catch {
                return undefined;
            }
        })();
        return this.runtime;
    }
}

const require = createRequire(import.meta.url);
function grammarPath(file: string): string {
    return path.join(path.dirname(require.resolve("@vscode/tree-sitter-wasm")), file);
}

function fits(lines: string[], start: number, end: number): boolean {
    if (end - start + 1 > CHUNK_LIMITS.maxLines) return false;
    let chars = 0;
    for (let i = start; i <= end; i++) chars += lines[i]!.length + 1;
    return chars <= CHUNK_LIMITS.maxChars;
}

/** Windows of lines from `start` to `end`, overlapping, each named after the innermost declaration-looking line above it. */
function lineSpans(start: number, end: number, lines: string[], symbol: string | undefined): Span[] {
    const spans: Span[] = [];
    const step = CHUNK_LIMITS.lineWindow - CHUNK_LIMITS.overlapLines;
    for (let s = start; s <= end; s += step) {
        const e = Math.min(end, s + CHUNK_LIMITS.lineWindow - 1);
        const name = symbol ?? declaredAbove(lines, s, e);
        spans.push({ start: s, end: e, symbols: name ? [name] : [] });
        if (e === end) break;
    }
    return spans;
}

const DECLARATION =
    /^\s*(?:export\s+)?(?:pub\s+)?(?:async\s+)?(?:def|class|function|fn|func|interface|struct|type|enum|trait|module|sub)\s+([A-Za-z_$][\w$]*)/;

function declaredAbove(lines: string[], start: number, end: number): string | undefined {
    for (let i = Math.min(end, start + 2); i >= Math.max(0, start - 200); i--) {
        const m = DECLARATION.exec(lines[i]!);
        if (m) return m[1];
    }
    return undefined;
}

/** The content hash chunks and their embeddings are cached by. */
export function contentHash(text: string): string {
    return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}
