/**
 * Activation only: create the client context, register the commands, start the server.
 * VS Code does not show a notification when an extension fails to activate, so we do.
 */
import * as vscode from "vscode";
import { ChatPanel } from "./chat/ChatPanel";
import { registerCommands } from "./commands";
import { Ctx } from "./ctx";
import { registerProposalDocuments } from "./edits/proposeEdit";
import { NextEditController } from "./nextEdit";
import { registerReports } from "./reports";
import { watchWorkspaceTrust } from "./workspaceTrust";

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext) {
    ctx = new Ctx(context);
    const chat = new ChatPanel(context, ctx);
    const nextEdit = new NextEditController(ctx);
    context.subscriptions.push(
        chat,
        nextEdit,
        vscode.window.registerWebviewViewProvider(ChatPanel.viewId, chat, {
            webviewOptions: { retainContextWhenHidden: true }
        }),
        registerProposalDocuments(),
        registerReports(),
        ...registerCommands(ctx, chat, nextEdit),
        // Trusted now: the workspace's own model and server settings apply; the server reads them again.
        watchWorkspaceTrust(() => void ctx?.settingsChanged())
    );
    try {
        await ctx.start();
    } catch (e: unknown) {
        const message = `MoE Pilot could not start its server: ${e instanceof Error ? e.message : String(e)}`;
        ctx.log.error(message);
        void vscode.window.showErrorMessage(message, "Show Log").then((choice) => {
            if (choice) ctx?.log.show();
        });
    }
}

export async function deactivate() {
    await ctx?.dispose();
    ctx = undefined;
}
