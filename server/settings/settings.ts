/**
 * The server's settings, from the table in schema.ts: defaults, validation of what a client
 * sends (a value of the wrong type or out of range is replaced by the one it would have had, and
 * reported under its full key, never trusted), and which changes load the model again.
 */
import type { Settings } from "../protocol";
import { type SettingDescriptor, type SettingPath, SETTINGS, settingKey } from "./schema";

/** A setting that was not acceptable: its full key (`moePilot.completion.maxTokens`) and why. */
export type SettingsProblem = { key: string; message: string };

const table = Object.entries(SETTINGS) as [SettingPath, SettingDescriptor<unknown>][];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function get(root: unknown, path: string): unknown {
    let at = root;
    for (const part of path.split(".")) at = isRecord(at) ? at[part] : undefined;
    return at;
}

function set(root: Record<string, unknown>, path: string, value: unknown) {
    const parts = path.split(".");
    let at = root;
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[parts.at(-1)!] = value;
}

function build(valueOf: (path: SettingPath, d: SettingDescriptor<unknown>) => unknown): Settings {
    const settings: Record<string, unknown> = {};
    for (const [path, d] of table) set(settings, path, valueOf(path, d));
    return settings as Settings;
}

export const DEFAULT_SETTINGS: Settings = build((_, d) => d.default);

const shown = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));

/** Merges `raw` (untrusted: the `moePilot` section) over `base`: valid settings, and what was wrong with `raw`. */
export function parseSettings(
    raw: unknown,
    base: Settings = DEFAULT_SETTINGS
): { settings: Settings; problems: SettingsProblem[] } {
    const problems: SettingsProblem[] = [];
    const settings = build((path, d) => {
        const fallback = get(base, path);
        const value = get(raw, path);
        if (value === undefined) return fallback;
        const parsed = d.check.parse(value);
        if (parsed !== undefined) return parsed;
        problems.push({ key: settingKey(path), message: `must be ${d.check.expected}; using ${shown(fallback)}` });
        return fallback;
    });
    return { settings, problems };
}

/** Settings whose change needs the model (or its contexts) loaded again. */
export function needsReload(a: Settings, b: Settings): boolean {
    return table.some(([path, d]) => d.reload && get(a, path) !== get(b, path));
}
