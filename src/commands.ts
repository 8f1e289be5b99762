/**
 * Every command, in one table registered in one loop (rust-analyzer's `createCommands`). Each
 * says what to do when the server is not running.
 */
import * as vscode from "vscode";
import { ACTIONS } from "./actions";
import type { ChatPanel } from "./chat/ChatPanel";
import type { Ctx } from "./ctx";
import type { NextEditController } from "./nextEdit";
import { routingMarkdown } from "./routingReport";
import { chooseModel, showModelCard, useModelFromDisk } from "./models";
import { showReport } from "./reports";
import { RoutingStatsRequest } from "../server/protocol";

type Command = (ctx: Ctx, chat: ChatPanel, nextEdit: NextEditController) => (...args: never[]) => unknown;

const COMMANDS: Record<string, Command> = {
    "moePilot.triggerCompletion": () => () => vscode.commands.executeCommand("editor.action.inlineSuggest.trigger"),
    "moePilot.restartServer": (ctx) => () => ctx.restart(),
    "moePilot.showLog": (ctx) => () => ctx.log.show(),
    "moePilot.openChat": () => () => vscode.commands.executeCommand("moePilot.chat.focus"),
    "moePilot.statusMenu": () => async () => {
        const items = [
            { label: "$(sparkle) Trigger inline completion", command: "moePilot.triggerCompletion" },
            { label: "$(comment-discussion) Open chat", command: "moePilot.openChat" },
            { label: "$(library) Choose model…", command: "moePilot.chooseModel" },
            { label: "$(info) Show model card", command: "moePilot.showModelCard" },
            { label: "$(layers) Set completion expert count…", command: "moePilot.setCompletionExperts" },
            { label: "$(graph) Show expert routing", command: "moePilot.showRouting" },
            { label: "$(debug-restart) Restart server", command: "moePilot.restartServer" },
            { label: "$(output) Show server log", command: "moePilot.showLog" },
            { label: "$(gear) Settings", command: "workbench.action.openSettings", args: ["moePilot"] }
        ];
        const pick = await vscode.window.showQuickPick(items, { title: "MoE Pilot" });
        if (pick) await vscode.commands.executeCommand(pick.command, ...(pick.args ?? []));
    },
    "moePilot.setCompletionExperts": (ctx) => async () => {
        const status = ctx.status.serverStatus;
        const model = status.model;
        if (status.expertMode === "remote") {
            void vscode.window.showInformationMessage(
                `${model?.name ?? "The model"} runs on a remote engine: its expert count is set there, not here.`
            );
            return;
        }
        if (!model?.isMoe) {
            void vscode.window.showInformationMessage(
                model ? `${model.name} is a dense model: it has no experts to choose.` : "No model is loaded yet."
            );
            return;
        }
        const current = vscode.workspace
            .getConfiguration("moePilot")
            .get<number | "auto">("completion.experts", "auto");
        const items = [
            { label: "auto", value: "auto" as const, description: `the server's choice (now ${status.completionK})` },
            ...Array.from({ length: model.expertCount }, (_, i) => ({
                label: String(i + 1),
                value: i + 1,
                description:
                    i + 1 === model.trainedK
                        ? "trained"
                        : i + 1 === model.expertCount
                          ? "all experts"
                          : i === 0
                            ? "fastest"
                            : undefined
            }))
        ].map((item) => ({
            ...item,
            picked: item.value === current,
            detail: item.value === current ? "current setting" : undefined
        }));
        const pick = await vscode.window.showQuickPick(items, {
            title: "Experts per token for inline completion",
            placeHolder: "Fewer experts are faster; more follow the model more closely"
        });
        if (pick)
            await vscode.workspace
                .getConfiguration("moePilot")
                .update("completion.experts", pick.value, vscode.ConfigurationTarget.Global);
    },
    "moePilot.showRouting": (ctx) => async () => {
        const client = ctx.running;
        if (!client) {
            void vscode.window.showWarningMessage("MoE Pilot: the server is not running.");
            return;
        }
        const stats = await client.sendRequest(RoutingStatsRequest.type);
        await showReport("Expert routing.md", routingMarkdown(stats, ctx.status.serverStatus.model?.name ?? "model"));
    },
    "moePilot.setRemoteApiKey": (ctx) => async () => {
        const key = await vscode.window.showInputBox({
            title: "API key of the remote engine",
            password: true,
            ignoreFocusOut: true,
            prompt: "Stored in the editor's secret storage, never in settings. Leave empty to remove the key."
        });
        if (key === undefined) return;
        await ctx.setRemoteApiKey(key.trim());
        void vscode.window.showInformationMessage(
            key.trim()
                ? "MoE Pilot: the remote engine's API key is stored."
                : "MoE Pilot: the remote engine's API key is removed."
        );
    },
    "moePilot.chooseModel": (ctx) => () => chooseModel(ctx),
    "moePilot.useModelFromDisk": (ctx) => () => useModelFromDisk(ctx),
    "moePilot.showModelCard": (ctx) => () => showModelCard(ctx),
    "moePilot.nextEdit.accept": (_ctx, _chat, nextEdit) => () => nextEdit.accept(),
    "moePilot.nextEdit.dismiss": (_ctx, _chat, nextEdit) => () => nextEdit.dismiss(),
    ...ACTIONS
};

export function registerCommands(ctx: Ctx, chat: ChatPanel, nextEdit: NextEditController): vscode.Disposable[] {
    return Object.entries(COMMANDS).map(([id, factory]) =>
        vscode.commands.registerCommand(id, factory(ctx, chat, nextEdit))
    );
}
