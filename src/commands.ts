/**
 * Every command, in one table registered in one loop (rust-analyzer's `createCommands`). Each
 * says what to do when the server is not running.
 */
import * as vscode from "vscode";
import { ACTIONS } from "./actions";
import type { ChatPanel } from "./chat/ChatPanel";
import type { Ctx } from "./ctx";

type Command = (ctx: Ctx, chat: ChatPanel) => (...args: never[]) => unknown;

const COMMANDS: Record<string, Command> = {
    "moePilot.triggerCompletion": () => () => vscode.commands.executeCommand("editor.action.inlineSuggest.trigger"),
    "moePilot.restartServer": (ctx) => () => ctx.restart(),
    "moePilot.showLog": (ctx) => () => ctx.log.show(),
    "moePilot.openChat": () => () => vscode.commands.executeCommand("moePilot.chat.focus"),
    "moePilot.statusMenu": (ctx) => async () => {
        const items = [
            { label: "$(sparkle) Trigger inline completion", command: "moePilot.triggerCompletion" },
            { label: "$(comment-discussion) Open chat", command: "moePilot.openChat" },
            { label: "$(debug-restart) Restart server", command: "moePilot.restartServer" },
            { label: "$(output) Show server log", command: "moePilot.showLog" },
            { label: "$(gear) Settings", command: "workbench.action.openSettings", args: ["moePilot"] }
        ];
        const pick = await vscode.window.showQuickPick(items, { title: "MoE Pilot" });
        if (pick) await vscode.commands.executeCommand(pick.command, ...(pick.args ?? []));
    },
    ...ACTIONS
};

export function registerCommands(ctx: Ctx, chat: ChatPanel): vscode.Disposable[] {
    return Object.entries(COMMANDS).map(([id, factory]) => vscode.commands.registerCommand(id, factory(ctx, chat)));
}
