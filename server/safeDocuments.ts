/**
 * The document store's factory, with the client's input checked: a `didOpen` whose text is not a
 * string, or a `didChange` with a malformed change, must not put a document in the store that
 * throws when read — every completion reads other open documents for context, so one such
 * document would break completions everywhere. Malformed parts become empty text or are dropped.
 */
import { TextDocument, type TextDocumentContentChangeEvent } from "vscode-languageserver-textdocument";

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

export const SafeTextDocument = {
    create(uri: string, languageId: string, version: number, content: string): TextDocument {
        return TextDocument.create(
            String(uri),
            String(languageId),
            Number.isInteger(version) ? version : 0,
            typeof content === "string" ? content : ""
        );
    },
    update(document: TextDocument, changes: TextDocumentContentChangeEvent[], version: number): TextDocument {
        return TextDocument.update(
            document,
            Array.isArray(changes) ? changes.filter(isChange) : [],
            Number.isInteger(version) ? version : document.version + 1
        );
    }
};
