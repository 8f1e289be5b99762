/**
 * Explain, Fix, Generate tests, Add documentation comment, Edit with instruction: from the
 * palette, the editor's context menu and the light bulb (served by the server's code actions).
 * Explanations (and new tests) go to the chat panel; edits of the selection go through a diff
 * the user accepts or rejects. Edits show progress and can be cancelled.
 */
import * as vscode from "vscode";
import { CancellationTokenSource, ResponseError } from "vscode-languageclient/node";
import { ChatRequest } from "../server/protocol";
import { ACTION_PROMPTS } from "./actionPrompts";
import type { ChatPanel } from "./chat/ChatPanel";
import { attachmentsForRange } from "./chat/attachments";
import type { Ctx } from "./ctx";
import { extractCode } from "./edits/extractCode";
import { proposeEdit } from "./edits/proposeEdit";

/** The editor and range an action is for: its arguments (from a code action) or the active selection. */
async function target(
    uri?: unknown,
    range?: unknown
): Promise<{ editor: vscode.TextEditor; range: vscode.Range } | undefined> {
    let editor = vscode.window.activeTextEditor;
    if (typeof uri === "string") {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
        editor = await vscode.window.showTextDocument(doc);
    }
    if (!editor) {
        void vscode.window.showWarningMessage("MoE Pilot: open a file and select some code first.");
        return undefined;
    }
    const r = range as { start: vscode.Position; end: vscode.Position } | undefined;
    const chosen = r
        ? new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character)
        : editor.selection;
    if (chosen.isEmpty) {
        // No selection: the lines of the problems at the cursor, else the cursor's line.
        const at = vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.range.contains(chosen.start));
        const lines = at?.range ?? chosen;
        return {
            editor,
            range: new vscode.Range(
                lines.start.line,
                0,
                lines.end.line,
                editor.document.lineAt(lines.end.line).text.length
            )
        };
    }
    return { editor, range: chosen };
}

/** Asks the model for a replacement of `range` and shows it as a diff to accept or reject. */
async function edit(
    ctx: Ctx,
    editor: vscode.TextEditor,
    range: vscode.Range,
    instruction: string,
    title: string,
    diagnostics: boolean
) {
    const client = ctx.running;
    if (!client) {
        void vscode.window.showErrorMessage("MoE Pilot: the server is not running.");
        return;
    }
    const attachments = attachmentsForRange(editor.document, range, diagnostics);
    const answer = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MoE Pilot: ${title}…`, cancellable: true },
        async (_progress, token) => {
            const cancel = new CancellationTokenSource();
            token.onCancellationRequested(() => cancel.cancel());
            try {
                const result = await client.sendRequest(
                    ChatRequest.type,
                    {
                        messages: [{ role: "user", content: `${instruction}\n${ACTION_PROMPTS.editRule}` }],
                        attachments,
                        maxTokens: 1024
                    },
                    cancel.token
                );
                return result.stopReason === "cancelled" ? undefined : result.text;
            } catch (e: unknown) {
                void vscode.window.showErrorMessage(`MoE Pilot: ${e instanceof ResponseError ? e.message : String(e)}`);
                return undefined;
            }
        }
    );
    if (answer === undefined) return;
    const code = extractCode(answer);
    if (code.trim() === "") {
        void vscode.window.showWarningMessage("MoE Pilot: the model proposed no code.");
        return;
    }
    await proposeEdit(editor.document, range, code, title);
}

type Action = (ctx: Ctx, chat: ChatPanel) => (uri?: unknown, range?: unknown) => Promise<void>;

export const ACTIONS: Record<string, Action> = {
    "moePilot.explain": (_ctx, chat) => async (uri, range) => {
        const t = await target(uri, range);
        if (t) {
            t.editor.selection = new vscode.Selection(t.range.start, t.range.end);
            await chat.ask(ACTION_PROMPTS.explain, { selection: true, currentFile: false, diagnostics: false });
        }
    },
    "moePilot.generateTests": (_ctx, chat) => async (uri, range) => {
        const t = await target(uri, range);
        if (t) {
            t.editor.selection = new vscode.Selection(t.range.start, t.range.end);
            await chat.ask(ACTION_PROMPTS.generateTests, { selection: true, currentFile: false, diagnostics: false });
        }
    },
    "moePilot.fix": (ctx) => async (uri, range) => {
        const t = await target(uri, range);
        if (t) await edit(ctx, t.editor, t.range, ACTION_PROMPTS.fix, "Fix", true);
    },
    "moePilot.addDocComment": (ctx) => async (uri, range) => {
        const t = await target(uri, range);
        if (t) await edit(ctx, t.editor, t.range, ACTION_PROMPTS.addDocComment, "Add documentation comment", false);
    },
    "moePilot.editSelection": (ctx) => async (uri, range) => {
        const t = await target(uri, range);
        if (!t) return;
        const instruction = await vscode.window.showInputBox({
            title: "MoE Pilot: Edit selection",
            prompt: "What should change?",
            placeHolder: "e.g. use async/await"
        });
        if (instruction) await edit(ctx, t.editor, t.range, ACTION_PROMPTS.edit(instruction), "Edit", false);
    }
};
