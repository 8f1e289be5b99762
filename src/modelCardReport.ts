/**
 * "MoE Pilot: Show Model Card": the loaded model(s) as the server inspected them (moePilot/model/card)
 * plus the live expert statistics, as Markdown. Pure, so a unit test can read it.
 */
import type { LoadedModelCard, ModelCard } from "../server/protocol";
import { formatBytes } from "../server/models/formatBytes";
import { routingMarkdown } from "./routingReport";

const FIT_WORDS = {
    fits: "fits",
    "expert-cache": "runs with the expert cache",
    "too-large": "too large for this machine"
} as const;
/** Table cells come from a file's metadata: keep them from breaking the table or the Markdown. */
const cell = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\s+/g, " ");

export function cardMarkdown(card: ModelCard, role: string): string {
    const fim =
        card.fim.source === "gguf-tokens"
            ? "yes, the model's own FIM tokens"
            : card.fim.source === "family-template"
              ? `yes, ${card.fim.family} template`
              : "no: chat only (completion continues the text)";
    const experts = card.isMoe
        ? `${card.expertCount} per layer, ${card.trainedK} used per token${card.sharedExpertCount ? `, ${card.sharedExpertCount} shared` : ""}`
        : "dense model (no experts)";
    const rows: [string, string][] = [
        ["File", `${cell(card.path)}${card.parts > 1 ? ` (${card.parts} parts)` : ""}`],
        ["Architecture", cell(card.architecture)],
        ["Size", formatBytes(card.sizeBytes)],
        ["Quantization", cell(card.quantization ?? "unknown")],
        ["Layers", String(card.layerCount)],
        ["Trained context", card.trainContextSize ? `${card.trainContextSize} tokens` : "unknown"],
        ["Experts", experts],
        ["Fill-in-the-middle", fim],
        ["Chat template", card.chatTemplate ? "the model's own" : "none (a general template is used)"],
        ["Chat sampling", `${cell(card.chatSampling)} (inline completion is greedy)`],
        [
            "Memory",
            `${FIT_WORDS[card.memory.fit.verdict]}: ${cell(card.memory.fit.reason)} (the file and a context of the configured size)`
        ]
    ];
    if (card.registry) {
        const k = card.registry.recommendedK;
        rows.push([
            "Registry",
            `${cell(card.registry.id)}; recommended experts: completion ${k.completion ?? "–"}, chat ${k.chat ?? "–"}`
        ]);
    }
    return `## ${role}: ${cell(card.name)}\n\n| | |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n")}\n`;
}

export function loadedCardMarkdown(loaded: LoadedModelCard): string {
    if (!loaded.completion)
        return `# Model card\n\nNo model is loaded${loaded.status.message ? `: ${cell(loaded.status.message)}` : "."}\n`;
    const parts = [`# Model card\n`];
    parts.push(cardMarkdown(loaded.completion, loaded.chat ? "Completion model" : "Model (completion and chat)"));
    if (loaded.chat) parts.push(cardMarkdown(loaded.chat, "Chat model"));
    const experts = loaded.status.completionK;
    if (experts) parts.push(`Completion runs with **${experts}** experts per token (${loaded.status.expertMode}).\n`);
    parts.push(routingMarkdown(loaded.routing, loaded.completion.name).replace(/^# /, "## "));
    return parts.join("\n");
}
