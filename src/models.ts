/**
 * Choosing a model: the registry with what fits this machine, downloads (VS Code progress with
 * bytes, speed and time left; cancel), a file from disk (inspected by the server first, refused
 * with its reason), and the loaded model's card. The server does the work (server/models/);
 * this file asks and shows.
 */
import * as vscode from "vscode";
import { type CancellationToken, ResponseError, WorkDoneProgress } from "vscode-languageclient/node";
import {
    DownloadModelRequest,
    type DownloadResult,
    InspectModelRequest,
    type ModelCard,
    ModelCardRequest,
    ModelListRequest,
    type ModelListResult,
    type RegistryModel
} from "../server/protocol";
import { formatBytes } from "../server/models/formatBytes";
import { SECTION } from "../server/settings/schema";
import type { Ctx } from "./ctx";
import { loadedCardMarkdown } from "./modelCardReport";
import { showReport } from "./reports";

const FIT_ICON = { fits: "$(pass)", "expert-cache": "$(database)", "too-large": "$(warning)" } as const;
const FIT_WORDS = {
    fits: "Fits in memory",
    "expert-cache": "Runs with the expert cache",
    "too-large": "Too large for this machine"
} as const;

type Role = "completion" | "chat";

function client(ctx: Ctx) {
    const running = ctx.running;
    if (!running) void vscode.window.showWarningMessage("MoE Pilot: the server is not running.");
    return running;
}

/** Points completion (`modelPath`, used for chat too unless chat has its own) or chat (`chat.modelPath`) at `file`. */
async function useModel(file: string, role: Role) {
    const config = vscode.workspace.getConfiguration(SECTION);
    await config.update(role === "chat" ? "chat.modelPath" : "modelPath", file, vscode.ConfigurationTarget.Global);
}

async function askRole(name: string, roles: Role[]): Promise<Role | undefined> {
    if (roles.length === 1 && roles[0] === "chat") {
        const pick = await vscode.window.showInformationMessage(
            `${name} is a chat model (no fill-in-the-middle training). Use it for chat, keeping the completion model?`,
            "Use for chat",
            "Use for both"
        );
        return pick === "Use for chat" ? "chat" : pick === "Use for both" ? "completion" : undefined;
    }
    return "completion";
}

/** "64 routed + 2 shared experts (6 per token)". */
function expertWords(model: Pick<RegistryModel, "experts">): string {
    const { expertCount, sharedCount, trainedK } = model.experts;
    return sharedCount
        ? `${expertCount} routed + ${sharedCount} shared experts (${trainedK} routed per token)`
        : `${expertCount} experts (${trainedK} per token)`;
}

export async function chooseModel(ctx: Ctx) {
    const lsp = client(ctx);
    if (!lsp) return;
    const list: ModelListResult = await lsp.sendRequest(ModelListRequest.type);
    const m = list.machine;
    type Item = vscode.QuickPickItem & { run?: () => Promise<void> };
    const items: Item[] = [
        { label: "Recommended MoE models", kind: vscode.QuickPickItemKind.Separator },
        ...list.models.map((model): Item => ({
            label: `${FIT_ICON[model.fit.verdict]} ${model.name}`,
            description: `${model.quantization}, about ${formatBytes(model.fileBytes)}, ${expertWords(model)}, ${model.fim ? "completion + chat" : "chat only"}${model.downloadedPath ? " · downloaded" : ""}`,
            detail: `${FIT_WORDS[model.fit.verdict]}: ${model.fit.reason}. ${model.note}`,
            run: async () => {
                const role = await askRole(model.name, model.roles);
                if (!role) return;
                const file =
                    model.downloadedPath ?? (await download(ctx, { id: model.id }, model.name, model.fileBytes, list));
                if (file) await useModel(file, role);
            }
        })),
        { label: "Other", kind: vscode.QuickPickItemKind.Separator },
        { label: "$(folder-opened) Use a model from disk…", run: () => useModelFromDisk(ctx) },
        {
            label: "$(package) The embedded demo model",
            description: "tiny, for trying MoE Pilot out",
            run: async () => {
                await useModel("", "completion");
                await useModel("", "chat");
            }
        }
    ];
    const pick = await vscode.window.showQuickPick(items, {
        title: `Choose a model · ${formatBytes(m.availableMemoryBytes)} of ${formatBytes(m.totalMemoryBytes)} memory available${m.freeDiskBytes !== undefined ? ` · ${formatBytes(m.freeDiskBytes)} free disk` : ""}`,
        placeHolder: `Pick a model to use (downloads ask first and go to ${m.modelDirectory})`,
        matchOnDescription: true,
        matchOnDetail: true
    });
    await pick?.run?.();
}

/** Downloads after the user confirms; returns the file to load, or undefined when cancelled or failed (the user was told). */
async function download(
    ctx: Ctx,
    params: { id: string },
    name: string,
    bytes: number,
    list: ModelListResult
): Promise<string | undefined> {
    const where = list.machine.modelDirectory;
    const confirm = await vscode.window.showInformationMessage(
        `Download ${name} (${formatBytes(bytes)}) from Hugging Face into ${where}? This is the only time MoE Pilot goes online for it.`,
        { modal: true },
        "Download"
    );
    if (confirm !== "Download") return undefined;
    const lsp = client(ctx);
    if (!lsp) return undefined;
    const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading ${name}`, cancellable: true },
        async (progress, token: CancellationToken): Promise<DownloadResult | undefined> => {
            const workDoneToken = `moePilot-download-${Date.now()}`;
            let reported = 0;
            const subscription = lsp.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
                if (value.kind !== "report") return;
                const percentage = value.percentage ?? reported;
                progress.report({ message: value.message, increment: Math.max(0, percentage - reported) });
                reported = Math.max(reported, percentage);
            });
            try {
                return await lsp.sendRequest(DownloadModelRequest.type, { ...params, workDoneToken }, token);
            } catch (e: unknown) {
                const message = e instanceof Error ? e.message : String(e);
                if (token.isCancellationRequested)
                    void vscode.window.showInformationMessage(
                        `Download of ${name} cancelled. Choosing it again resumes where it stopped.`
                    );
                else void vscode.window.showErrorMessage(`MoE Pilot: ${message}`);
                return undefined;
            } finally {
                subscription.dispose();
            }
        }
    );
    if (result)
        void vscode.window.showInformationMessage(
            result.alreadyPresent
                ? `${name} was already downloaded.`
                : `Downloaded ${name} (${formatBytes(result.bytes)}${result.verified === "sha256" ? ", checksum verified" : ""}).`
        );
    return result?.path;
}

export async function useModelFromDisk(ctx: Ctx) {
    const lsp = client(ctx);
    if (!lsp) return;
    const files = await vscode.window.showOpenDialog({
        canSelectMany: false,
        filters: { "GGUF models": ["gguf"] },
        title: "Use a model from disk",
        openLabel: "Inspect and use"
    });
    const file = files?.[0]?.fsPath;
    if (!file) return;
    let card: ModelCard;
    try {
        card = await lsp.sendRequest(InspectModelRequest.type, { path: file });
    } catch (e: unknown) {
        // The server's refusal says exactly why (not a GGUF, cut short, unknown architecture…).
        void vscode.window.showErrorMessage(
            `MoE Pilot cannot use this file: ${e instanceof ResponseError || e instanceof Error ? e.message : String(e)}`
        );
        return;
    }
    const summary =
        `${card.name}: ${card.architecture}, ${formatBytes(card.sizeBytes)}, ${card.isMoe ? `${card.expertCount} experts (${card.trainedK} per token)` : "dense"}, ` +
        `${card.fim.source === "none" ? "chat only" : "fill-in-the-middle"}; ${card.memory.fit.reason}.`;
    const choices = card.fim.source === "none" ? ["Use for chat", "Use for both"] : ["Use for both", "Use for chat"];
    const pick = await vscode.window.showInformationMessage(
        summary,
        ...(card.memory.fit.verdict === "too-large" ? [] : choices),
        "Cancel"
    );
    if (pick === "Use for both") await useModel(file, "completion");
    else if (pick === "Use for chat") await useModel(file, "chat");
    else if (card.memory.fit.verdict === "too-large")
        void vscode.window.showWarningMessage(`${card.name} is too large for this machine: ${card.memory.fit.reason}.`);
}

export async function showModelCard(ctx: Ctx) {
    const lsp = client(ctx);
    if (!lsp) return;
    const card = await lsp.sendRequest(ModelCardRequest.type);
    await showReport("Model card.md", loadedCardMarkdown(card));
}
