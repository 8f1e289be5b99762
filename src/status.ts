/**
 * The status bar item: model, experts in use, state, speed. Clicking it opens the actions menu.
 */
import * as vscode from "vscode";
import type { StatusParams } from "../server/protocol";

export type ClientState = "starting" | "running" | "restarting" | "stopped";

export class StatusBar implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem("moePilot.status", vscode.StatusBarAlignment.Right, 100);
    private server: StatusParams = { state: "starting" };
    private client: ClientState = "starting";
    private restartNote = "";

    constructor() {
        this.item.name = "MoE Pilot";
        this.item.command = "moePilot.statusMenu";
        this.render();
        this.item.show();
    }

    setServerStatus(status: StatusParams) {
        this.server = status;
        this.render();
    }
    setClientState(state: ClientState, note = "") {
        this.client = state;
        this.restartNote = note;
        this.render();
    }
    get serverStatus(): StatusParams {
        return this.server;
    }

    private render() {
        const s = this.server;
        const tooltip = new vscode.MarkdownString(undefined, true);
        tooltip.appendMarkdown("**MoE Pilot**\n\n");
        if (this.client === "restarting" || this.client === "stopped") {
            this.item.text = this.client === "restarting" ? "$(sync~spin) MoE Pilot" : "$(debug-disconnect) MoE Pilot";
            this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
            tooltip.appendMarkdown(this.restartNote || "The server is not running.");
            this.item.tooltip = tooltip;
            return;
        }
        this.item.backgroundColor = undefined;
        switch (s.state) {
            case "starting":
            case "loading":
                this.item.text = "$(loading~spin) MoE Pilot";
                tooltip.appendMarkdown("Loading the model…");
                break;
            case "error":
                this.item.text = "$(error) MoE Pilot";
                this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
                tooltip.appendText(s.message ?? "The model could not be loaded.");
                break;
            case "ready": {
                const m = s.model!;
                const experts = m.isMoe
                    ? ` · k${s.completionAdaptive ? "≤" : "="}${s.completionK}/${m.expertCount}`
                    : "";
                const speed = s.tokensPerSecond ? ` · ${s.tokensPerSecond} tok/s` : "";
                this.item.text = `${s.expertMode === "remote" ? "$(remote)" : "$(hubot)"} ${shortName(m.name)}${experts}${speed}`;
                tooltip.appendText(`${m.name}${m.isEmbedded ? " — embedded demo model" : ""}\n`);
                if (s.expertMode !== "remote")
                    tooltip.appendMarkdown(`\n\n${m.architecture}, ${(m.sizeBytes / 1e6).toFixed(1)} MB\n\n`);
                tooltip.appendMarkdown(
                    s.expertMode === "remote"
                        ? `Runs on a remote engine at ${m.path}: the MoE controls (expert counts, routing, expert cache) are not available.\n\n`
                        : m.isMoe
                          ? s.completionAdaptive
                              ? `Experts: up to ${s.completionK} of ${m.expertCount} per token for completion, adaptive: each token keeps its top experts until their gate mass reaches ${s.completionAdaptive.p} (trained: ${m.trainedK}; ${expertModeText(s.expertMode)}). The routing report shows the average.\n\n`
                              : `Experts: ${s.completionK} of ${m.expertCount} per token for completion (trained: ${m.trainedK}; ${expertModeText(s.expertMode)})\n\n`
                          : "Dense model: expert settings do not apply.\n\n"
                );
                if (m.fimSource === "none")
                    tooltip.appendMarkdown("No fill-in-the-middle tokens: completes left to right.\n\n");
                if (s.tokensPerSecond) tooltip.appendMarkdown(`Last completion: ${s.tokensPerSecond} tokens/s\n\n`);
                break;
            }
        }
        this.item.tooltip = tooltip;
    }

    dispose() {
        this.item.dispose();
    }
}

function shortName(name: string): string {
    return name.length > 24 ? `${name.slice(0, 23)}…` : name;
}

function expertModeText(mode: StatusParams["expertMode"]): string {
    switch (mode) {
        case "native":
            return "native MoE runtime: set per workload on one model";
        case "override":
            return "stock llama.cpp: a second model instance over the same weights";
        case "trained":
            return "stock llama.cpp, as trained";
        default:
            return "not applicable";
    }
}
