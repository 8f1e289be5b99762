/**
 * The open documents as the server holds them (incremental sync into a store that keeps
 * malformed input out, safeDocuments.ts), and `moePilot/document/text`, which shows one as the
 * server sees it.
 */
import type { ClientCapabilities, Connection, ServerCapabilities, TextDocuments } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Feature } from "../feature";
import { DocumentTextRequest, type DocumentTextResult } from "../protocol";

export class DocumentsFeature implements Feature {
    constructor(
        private readonly connection: Connection,
        private readonly documents: TextDocuments<TextDocument>
    ) {}

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
        this.connection.onRequest(DocumentTextRequest.type, (params): DocumentTextResult => {
            const doc = typeof params?.uri === "string" ? this.documents.get(params.uri) : undefined;
            return doc ? { version: doc.version, text: doc.getText() } : null;
        });
        return {};
    }
}
