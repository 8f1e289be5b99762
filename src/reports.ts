/**
 * Reports (the model card, the expert routing) as read-only Markdown previews. They live in a
 * virtual document (`moe-pilot-report:`), so closing one never asks to save an untitled file,
 * and showing a report again refreshes it in place.
 */
import * as vscode from "vscode";

const SCHEME = "moe-pilot-report";

class ReportDocuments implements vscode.TextDocumentContentProvider {
    private readonly contents = new Map<string, string>();
    private readonly changed = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.changed.event;
    provideTextDocumentContent(uri: vscode.Uri): string {
        return this.contents.get(uri.toString()) ?? "";
    }
    set(uri: vscode.Uri, markdown: string) {
        this.contents.set(uri.toString(), markdown);
        this.changed.fire(uri);
    }
}

const documents = new ReportDocuments();

export function registerReports(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents);
}

/** Shows `markdown` as the preview named `name` (e.g. "Model card.md"). */
export async function showReport(name: string, markdown: string) {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${name}` });
    documents.set(uri, markdown);
    await vscode.commands.executeCommand("markdown.showPreview", uri);
}
