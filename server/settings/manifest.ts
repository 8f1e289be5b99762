/**
 * `package.json`'s view of the settings table (schema.ts): `contributes.configuration.properties`
 * and the restricted list of `capabilities.untrustedWorkspaces`. The unit test compares them with
 * the manifest; `npm run settings:manifest` writes them into it.
 */
import { CLIENT_SETTINGS, RESTRICTED_SETTINGS, type SettingDescriptor, SETTINGS, settingKey } from "./schema";

export function manifestProperties(): Record<string, Record<string, unknown>> {
    const all = { ...SETTINGS, ...CLIENT_SETTINGS } as Record<string, SettingDescriptor<unknown>>;
    return Object.fromEntries(
        Object.entries(all).map(([path, d]) => [
            settingKey(path),
            {
                ...d.check.schema,
                default: d.default,
                ...(d.scope ? { scope: d.scope } : {}),
                markdownDescription: d.description
            }
        ])
    );
}

export const manifestRestrictedConfigurations = (): string[] => [...RESTRICTED_SETTINGS];
