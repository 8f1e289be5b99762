/**
 * The settings a workspace may not choose while it is untrusted (they name a file, a folder or a
 * server; `package.json` lists the same under `capabilities.untrustedWorkspaces`), and which of
 * them a workspace's settings files set. Pure (no vscode), for workspaceTrust.ts and its tests.
 */
import { parse } from "jsonc-parser";

export const RESTRICTED_SETTINGS = ["modelPath", "chat.modelPath", "models.directory", "models.huggingFaceEndpoint", "remote.endpoint"].map((k) => `moePilot.${k}`);

/** The restricted settings that workspace settings texts set: `.vscode/settings.json` (JSONC), or a `.code-workspace` file's "settings". */
export function restrictedSettingsIn(texts: string[]): string[] {
    const found = new Set<string>();
    for (const text of texts) {
        const parsed = parse(text, [], { allowTrailingComma: true }) as Record<string, unknown> | undefined;
        const settings = (parsed && typeof parsed.settings === "object" && parsed.settings !== null ? parsed.settings : parsed) as Record<string, unknown> | undefined;
        for (const key of RESTRICTED_SETTINGS) if (settings?.[key] !== undefined) found.add(key);
    }
    return [...found];
}
