/**
 * The chat model when `moePilot.chat.modelPath` names another file: inspected, and checked to fit
 * in memory beside the completion model (file and context each, modelCard.ts). When it cannot be
 * used, chat runs on the completion model and the warning tells the user why.
 */
import path from "node:path";
import { memoryBudgetBytes } from "../cache/memoryBudget";
import { errorMessage } from "../errors";
import type { Settings } from "../protocol";
import { inspectModel, type ModelInspection } from "./inspectModel";
import { modelCard } from "./modelCard";
import { formatBytes } from "./formatBytes";

export async function chatModelFit(
    completion: ModelInspection,
    settings: Settings
): Promise<{ chat?: ModelInspection; warning?: string }> {
    const chatPath = settings.chat.modelPath;
    if (!chatPath || path.resolve(chatPath) === path.resolve(completion.path)) return {};
    let chat: ModelInspection;
    try {
        chat = await inspectModel(chatPath);
    } catch (e: unknown) {
        return { warning: `The chat model cannot be used, so chat runs on ${completion.name}: ${errorMessage(e)}` };
    }
    const [a, b] = await Promise.all([
        modelCard(completion, settings.contextSize, settings.chat.sampling),
        modelCard(chat, settings.contextSize, settings.chat.sampling)
    ]);
    const budget = memoryBudgetBytes(settings.memory.budget);
    if (a.memory.needBytes + b.memory.needBytes <= budget.bytes) return { chat };
    return {
        warning: `${chat.name} (about ${formatBytes(b.memory.needBytes)}) and ${completion.name} (about ${formatBytes(a.memory.needBytes)}) do not fit in memory together (budget ${formatBytes(budget.bytes)}, ${budget.source}), so chat runs on ${completion.name}. Choose a smaller chat model, or clear moePilot.chat.modelPath to use one model for both.`
    };
}
