/**
 * The context the user chose to attach to a chat message — the selection, the current file, the
 * problems (diagnostics) in the selection or file, and workspace files mentioned as `@path` —
 * read from VS Code, with a label the panel shows before and after sending.
 */
import * as vscode from "vscode";
import type { ChatAttachment } from "../../server/protocol";
import type { ContextOptions } from "./webviewProtocol";

/** Larger files are cut to this many characters, and the label says so. */
const MAX_FILE_CHARS = 60_000;
const MENTION = /(?:^|\s)@([\w./-]+\.\w+)/g;

const relative = (uri: vscode.Uri) => vscode.workspace.asRelativePath(uri, false);

function capped(text: string, label: string): { text: string; label: string } {
    return text.length <= MAX_FILE_CHARS
        ? { text, label }
        : { text: text.slice(0, MAX_FILE_CHARS), label: `${label} (first ${MAX_FILE_CHARS} characters)` };
}

/** Labels of what would be attached now, for the panel. */
export function pendingLabels(options: ContextOptions): string[] {
    const editor = vscode.window.activeTextEditor;
    const workspace = options.workspace ? ["workspace: the chunks that answer the question"] : [];
    if (!editor) return workspace;
    const doc = editor.document;
    const labels: string[] = [];
    if (options.selection && !editor.selection.isEmpty)
        labels.push(`${relative(doc.uri)}:${editor.selection.start.line + 1}-${editor.selection.end.line + 1}`);
    if (options.currentFile) labels.push(relative(doc.uri));
    if (options.diagnostics && vscode.languages.getDiagnostics(doc.uri).length > 0)
        labels.push(`problems in ${relative(doc.uri)}`);
    return [...labels, ...workspace];
}

export async function gatherAttachments(options: ContextOptions, question: string): Promise<ChatAttachment[]> {
    const attachments: ChatAttachment[] = [];
    const editor = vscode.window.activeTextEditor;
    if (editor) {
        const doc = editor.document;
        const name = relative(doc.uri);
        const selection = editor.selection;
        if (options.selection && !selection.isEmpty) {
            attachments.push({
                kind: "selection",
                label: `${name}:${selection.start.line + 1}-${selection.end.line + 1}`,
                text: doc.getText(selection)
            });
        }
        if (options.currentFile) attachments.push({ kind: "file", ...capped(doc.getText(), name) });
        if (options.diagnostics) {
            const range = selection.isEmpty ? undefined : selection;
            const problems = vscode.languages
                .getDiagnostics(doc.uri)
                .filter((d) => !range || d.range.intersection(range));
            if (problems.length > 0) {
                attachments.push({
                    kind: "diagnostics",
                    label: range ? `${name}:${range.start.line + 1}-${range.end.line + 1}` : name,
                    text: problems
                        .map(
                            (d) =>
                                `line ${d.range.start.line + 1}: ${vscode.DiagnosticSeverity[d.severity].toLowerCase()}: ${d.message}`
                        )
                        .join("\n")
                });
            }
        }
    }
    for (const match of question.matchAll(MENTION)) {
        const [file] = await vscode.workspace.findFiles(`**/${match[1]}`, "**/node_modules/**", 1);
        if (!file) continue;
        const bytes = await vscode.workspace.fs.readFile(file);
        attachments.push({ kind: "file", ...capped(new TextDecoder().decode(bytes), relative(file)) });
    }
    return attachments;
}

/** The code in `range` and, when asked, the problems there: the context of an edit command. */
export function attachmentsForRange(
    doc: vscode.TextDocument,
    range: vscode.Range,
    diagnostics: boolean
): ChatAttachment[] {
    const name = relative(doc.uri);
    const label = `${name}:${range.start.line + 1}-${range.end.line + 1}`;
    const attachments: ChatAttachment[] = [{ kind: "selection", label, text: doc.getText(range) }];
    const problems = diagnostics
        ? vscode.languages.getDiagnostics(doc.uri).filter((d) => d.range.intersection(range))
        : [];
    if (problems.length > 0)
        attachments.push({
            kind: "diagnostics",
            label,
            text: problems.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join("\n")
        });
    return attachments;
}
