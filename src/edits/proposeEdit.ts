/**
 * Shows a proposed edit as a diff (the document against the document with the edit), asks
 * Accept or Reject, and applies it only when accepted and the document has not changed since
 * (editProposal.ts decides). Proposed texts live in memory behind a read-only URI scheme.
 */
import * as vscode from "vscode";
import { applyToText, decide, type ProposedEdit } from "./editProposal";

const SCHEME = "moe-pilot-proposal";
const proposals = new Map<string, string>();
let counter = 0;

export function registerProposalDocuments(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
        provideTextDocumentContent: (uri) => proposals.get(uri.toString()) ?? ""
    });
}

/** Once decided, the diff has served its purpose: close it (Copilot and Continue do the same). */
async function closeDiff(proposalUri: vscode.Uri) {
    const tabs = vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter(
            (t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === proposalUri.toString()
        );
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
}

export type ProposalOutcome = "applied" | "rejected" | "refused";

export async function proposeEdit(
    document: vscode.TextDocument,
    range: vscode.Range,
    replacement: string,
    title: string
): Promise<ProposalOutcome> {
    const edit: ProposedEdit = {
        uri: document.uri.toString(),
        version: document.version,
        range: { start: range.start, end: range.end },
        original: document.getText(range),
        replacement
    };
    const proposed = applyToText(
        document.getText(),
        { start: document.offsetAt(range.start), end: document.offsetAt(range.end) },
        replacement
    );
    const proposalUri = vscode.Uri.from({
        scheme: SCHEME,
        path: `/${++counter}/${document.uri.path.split("/").pop()}`
    });
    proposals.set(proposalUri.toString(), proposed);
    try {
        const name = vscode.workspace.asRelativePath(document.uri, false);
        await vscode.commands.executeCommand("vscode.diff", document.uri, proposalUri, `${title}: ${name} ↔ proposed`, {
            preview: true
        });
        const choice = await vscode.window.showInformationMessage(
            `${title}: apply the proposed change to ${name}?`,
            "Accept",
            "Reject"
        );
        await closeDiff(proposalUri);
        const current = vscode.workspace.textDocuments.find((d) => d.uri.toString() === edit.uri);
        const decision = decide(
            edit,
            choice === "Accept",
            current && { version: current.version, textInRange: current.getText(range) }
        );
        if (!decision.apply) {
            if (choice === "Accept") void vscode.window.showWarningMessage(decision.reason);
            return choice === "Accept" ? "refused" : "rejected";
        }
        const workspaceEdit = new vscode.WorkspaceEdit();
        workspaceEdit.replace(document.uri, range, replacement);
        if (!(await vscode.workspace.applyEdit(workspaceEdit))) return "refused";
        // Show the file with the change in place, as the diff was showing it.
        await vscode.window.showTextDocument(document, { selection: new vscode.Range(range.start, range.start) });
        return "applied";
    } finally {
        proposals.delete(proposalUri.toString());
    }
}
