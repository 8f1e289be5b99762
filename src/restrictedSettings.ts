/**
 * Which of the settings an untrusted workspace may not choose (they name a file, a folder or a
 * server: the settings table's `restricted` column, server/settings/schema.ts) a workspace's
 * settings files set. Pure (no vscode), for workspaceTrust.ts and its tests.
 */
import { parse } from "jsonc-parser";
import { RESTRICTED_SETTINGS } from "../server/settings/schema";

/** The restricted settings that workspace settings texts set: `.vscode/settings.json` (JSONC), or a `.code-workspace` file's "settings". */
export function restrictedSettingsIn(texts: string[]): string[] {
    const found = new Set<string>();
    for (const text of texts) {
        const parsed = parse(text, [], { allowTrailingComma: true }) as Record<string, unknown> | undefined;
        const settings = (
            parsed && typeof parsed.settings === "object" && parsed.settings !== null ? parsed.settings : parsed
        ) as Record<string, unknown> | undefined;
        for (const key of RESTRICTED_SETTINGS) if (settings?.[key] !== undefined) found.add(key);
    }
    return [...found];
}
