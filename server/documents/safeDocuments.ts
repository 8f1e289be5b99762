/**
 * The document store's factory, with the client's input checked: a `didOpen` whose text is not a
 * string, or a `didChange` with a malformed change, must not put a document in the store that
 * throws when read — every completion reads other open documents for context, so one such
 * document would break completions everywhere. Malformed parts become empty text or are dropped;
 * ranges outside the text are clamped to it, as the LSP specification says.
 *
 * `observe` sees each change as it is about to be applied, with the document as it was (the edit
 * history of next-edit suggestions reads the lines a change replaced there).
 */
import { type Range, TextDocument, type TextDocumentContentChangeEvent } from "vscode-languageserver-textdocument";

const isPosition = (p: unknown): boolean => {
    const q = p as { line?: unknown; character?: unknown } | null;
    return (
        !!q &&
        Number.isInteger(q.line) &&
        Number.isInteger(q.character) &&
        (q.line as number) >= 0 &&
        (q.character as number) >= 0
    );
};

function isChange(c: unknown): c is TextDocumentContentChangeEvent {
    const change = c as { text?: unknown; range?: { start?: unknown; end?: unknown } } | null;
    if (!change || typeof change.text !== "string") return false;
    return change.range === undefined || (isPosition(change.range?.start) && isPosition(change.range?.end));
}

/** A range as positions that exist in `doc` (LSP: a line past the end is the end, a character past a line its end). */
const clamped = (doc: TextDocument, range: Range): Range => ({
    start: doc.positionAt(doc.offsetAt(range.start)),
    end: doc.positionAt(doc.offsetAt(range.end))
});

export type ChangeObserver = (before: TextDocument, change: TextDocumentContentChangeEvent) => void;

export const safeTextDocument = (observe?: ChangeObserver) => ({
    create(uri: string, languageId: string, version: number, content: string): TextDocument {
        return TextDocument.create(
            String(uri),
            String(languageId),
            Number.isInteger(version) ? version : 0,
            typeof content === "string" ? content : ""
        );
    },
    update(document: TextDocument, changes: TextDocumentContentChangeEvent[], version: number): TextDocument {
        const valid = Array.isArray(changes) ? changes.filter(isChange) : [];
        const next = Number.isInteger(version) ? version : document.version + 1;
        if (valid.length === 0) return TextDocument.update(document, [], next);
        // One change at a time, its range clamped to the text it applies to: given a range past
        // the last line, the library's incremental line table goes wrong, and every later edit
        // then lands somewhere else (found by the generated-message fuzzer).
        let doc = document;
        for (const change of valid) {
            const safe =
                "range" in change && change.range !== undefined
                    ? { ...change, range: clamped(doc, change.range) }
                    : change;
            try {
                observe?.(doc, safe);
            } catch {
                // What observes is a hint (the edit history); the document is updated whatever it does.
            }
            doc = TextDocument.update(doc, [safe], next);
        }
        return doc;
    }
});
