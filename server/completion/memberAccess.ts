/**
 * Completions after `object.` that name a member the object has: the idea of monitor-guided
 * decoding (Agrawal et al., "Guiding Language Models of Code with Global Context using Monitors",
 * NeurIPS 2023), where static analysis limits the tokens at a dereference to the members of the
 * object's type. A small model shown a class in its prompt still invents a member (the demo model
 * wrote `cart.get(cpos, 0)` with `ShoppingCart` in the context); told which names exist, it picks
 * one of them, and the rest of the line is its own.
 *
 * Here: where the cursor follows `name.` (or `name?.`), the type `name` was declared with in the
 * text above the cursor, whose members the workspace index knows (WorkspaceIndex, Chunker), or the
 * module `name` imports as a namespace, whose top-level names the index knows. Pure: the text in,
 * the receiver and its type or module out.
 */

/** The object before the cursor and the part of a member name already typed after it. */
export type MemberAccess = { receiver: string; typed: string };

/** Receivers whose members this file shows already, or that no declaration names. */
const NOT_A_RECEIVER = new Set(["this", "self", "super", "cls"]);

/** `cart.`, `cart?.comp`: not `a.b.` (the type of `a.b` is not declared above) and not `1.5`. */
const ACCESS = /(?:^|[^\w$.])([A-Za-z_$][\w$]*)\s*\??\.([\w$]*)$/;

export function memberAccessAt(linePrefix: string): MemberAccess | undefined {
    const m = ACCESS.exec(linePrefix.slice(-200));
    if (!m || NOT_A_RECEIVER.has(m[1]!) || inCommentOrString(linePrefix)) return undefined;
    return { receiver: m[1]!, typed: m[2]! };
}

/** The cursor is in a comment or a string on its line ("kept in Cart." is prose, not a member access). */
function inCommentOrString(linePrefix: string): boolean {
    if (/^\s*(\*|\/\*|#|\/\/)/.test(linePrefix) || /\/\/|\s#\s/.test(linePrefix)) return true;
    for (const quote of ['"', "'", "`"]) if ((linePrefix.split(quote).length - 1) % 2 === 1) return true;
    return false;
}

const escape = (s: string) => s.replace(/[$]/g, "\\$");

/**
 * The type `receiver` is declared with, nearest the cursor: an annotation (`cart: ShoppingCart`,
 * TypeScript and Python) or a construction (`cart = new ShoppingCart(`, Python's
 * `cart = ShoppingCart(`). A receiver with no declaration (a class's static members, a global)
 * gets none; generic and union types are not followed: no type, no constraint.
 */
export function declaredType(textAbove: string, receiver: string): string | undefined {
    const name = escape(receiver);
    const patterns = [
        new RegExp(`(?<![\\w$.])${name}\\s*\\??\\s*:\\s*([A-Z][\\w$]*)(?![\\w$])(?!\\s*[<.|&[])`, "g"),
        new RegExp(`(?<![\\w$.])${name}\\s*=\\s*(?:await\\s+)?new\\s+([A-Z][\\w$]*)\\s*[(<]`, "g"),
        new RegExp(`(?<![\\w$.])${name}\\s*=\\s*([A-Z][\\w$]*)\\(`, "g")
    ];
    let best: { at: number; type: string } | undefined;
    for (const pattern of patterns)
        for (const m of textAbove.matchAll(pattern))
            if (!best || m.index > best.at) best = { at: m.index, type: m[1]! };
    return best?.type;
}

/** Namespace imports: `import * as X from "./m"`, `const X = require("./m")` (what TypeScript compiles imports to). */
const NAMESPACE_IMPORTS = [
    /^\s*import\s+\*\s+as\s+([\w$]+)\s+from\s+["']([^"']+)["']/gm,
    /^\s*(?:const|let|var)\s+([\w$]+)\s*=\s*require\(\s*["']([^"']+)["']\s*\)/gm
];

/** The relative module `receiver` names, when the file imports it as a namespace (its members: what that file defines). */
export function namespaceModule(head: string, receiver: string): string | undefined {
    for (const pattern of NAMESPACE_IMPORTS)
        for (const m of head.matchAll(pattern)) if (m[1] === receiver && m[2]!.startsWith(".")) return m[2];
    return undefined;
}

/** The files a relative module specifier may be, in the order Node and TypeScript look ("./m.js" may be "./m.ts"). */
export function moduleFiles(fromFile: string, specifier: string, join: (...parts: string[]) => string): string[] {
    const dir = fromFile.slice(0, Math.max(0, fromFile.lastIndexOf("/")));
    const base = join(dir, specifier);
    const stem = base.replace(/\.(c|m)?js$/, "");
    return [
        base,
        ...[".ts", ".tsx", ".js", ".mjs", ".cjs", ".mts", ".cts"].map((e) => stem + e),
        join(base, "index.ts"),
        join(base, "index.js")
    ];
}

/**
 * Whether the member `name` that the chunk `text` declares is one another file can call on an
 * instance: not the constructor, not private, protected or static, not `#name` or `_name`.
 * (A class too long for one chunk is cut into member chunks named "Class.member": this reads
 * the member's own declaration line.)
 */
export function isPublicMember(text: string, name: string): boolean {
    if (name === "constructor" || /^[#_]/.test(name)) return false;
    const escaped = name.replace(/[$]/g, "\\$");
    const declaration = new RegExp(
        `^\\s*(?:@[\\w.]+(?:\\([^)]*\\))?\\s+)*((?:[a-z]+\\s+)*)(?:\\*\\s*)?${escaped}\\b`,
        "m"
    ).exec(text);
    return !declaration || !/\b(private|protected|static)\b/.test(declaration[1]!);
}

/**
 * Of the top-level `names` a module's `text` defines, those a namespace import of it reaches: in
 * an ES module the ones it exports (`export function x`, `export { x }`), in a CommonJS one the
 * ones it assigns to `exports` (`exports.x =`, `module.exports = { x }`), elsewhere (Python, a
 * script) the ones without a leading underscore.
 */
export function exportedNames(names: readonly string[], text: string): string[] {
    const es = /^\s*export\b/m.test(text);
    const commonJs = !es && /\b(module\.)?exports\b/.test(text);
    // The names the export lists give: `export { a as b }` exports b, `module.exports = { b: a }` too.
    const listed = (list: string, exported: (part: string) => string) =>
        list.split(",").map((part) => exported(part.trim()).trim());
    const lists = [
        ...[...text.matchAll(/\bexport\s*(?:type\s*)?\{([^}]*)\}/g)].flatMap((m) =>
            listed(m[1]!, (p) => p.split(/\s+as\s+/).at(-1)!)
        ),
        ...[...text.matchAll(/\bmodule\.exports\s*=\s*\{([^}]*)\}/g)].flatMap((m) =>
            listed(m[1]!, (p) => p.split(":")[0]!)
        )
    ];
    return names.filter((name) => {
        const n = escape(name);
        if (es)
            return (
                lists.includes(name) ||
                new RegExp(
                    `^\\s*export\\s+(?:default\\s+)?(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:function\\*?|class|const|let|var|interface|type|enum|namespace)\\s+${n}(?![\\w$])`,
                    "m"
                ).test(text)
            );
        if (commonJs) return lists.includes(name) || new RegExp(`\\b(?:module\\.)?exports\\.${n}\\s*=`).test(text);
        return !name.startsWith("_");
    });
}

/**
 * The texts a suggestion may start with: the rest of each member name that begins with what is
 * typed. Empty when nothing typed matches (the user is writing a name the index does not know)
 * or a whole name is typed: no constraint.
 */
export function memberContinuations(members: readonly string[], typed: string): string[] {
    // A whole name typed already: the suggestion goes on from it, whatever it is.
    if (members.includes(typed)) return [];
    return members.filter((m) => m.startsWith(typed) && m.length > typed.length).map((m) => m.slice(typed.length));
}

/** `this.name = …` in a class's code: the fields JavaScript declares by assigning them (a constructor's, or any method's). */
export function assignedFields(classText: string): string[] {
    const names = new Set<string>();
    for (const m of classText.matchAll(/\bthis\.([A-Za-z$][\w$]*)\s*=(?!=)/g))
        if (!m[1]!.startsWith("_")) names.add(m[1]!);
    return [...names];
}

/**
 * The names that the text near the cursor uses: as a word of their own (`this.patch < other.`
 * → `patch`), or as the last part of a camel-case name (`closeEmitter = new events.` →
 * `Emitter`). Code goes on with what it has just used; a small model does not see it.
 */
export function usedNearby(names: readonly string[], near: string): string[] {
    return names.filter((name) => {
        const hump = /^[A-Z]/.test(name) ? "|(?<=[a-z0-9])" : "";
        return new RegExp(`(?:(?<![\\w$])${hump})${escape(name)}(?![\\w$])`).test(near);
    });
}
