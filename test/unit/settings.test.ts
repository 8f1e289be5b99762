import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_SETTINGS, needsReload, parseSettings } from "../../server/settings";

describe("settings", () => {
    test("missing values take the defaults", () => {
        assert.deepEqual(parseSettings(undefined), { settings: DEFAULT_SETTINGS, problems: [] });
    });

    test("wrong types and out-of-range values are replaced and reported", () => {
        const { settings, problems } = parseSettings({ threads: "many", contextSize: 10, completion: { experts: 0, maxTokens: 2e9, enabled: "yes" } });
        assert.equal(settings.threads, DEFAULT_SETTINGS.threads);
        assert.equal(settings.contextSize, DEFAULT_SETTINGS.contextSize);
        assert.equal(settings.completion.experts, "auto");
        assert.equal(settings.completion.maxTokens, DEFAULT_SETTINGS.completion.maxTokens);
        assert.equal(settings.completion.enabled, true);
        assert.deepEqual(problems.map((p) => p.key).sort(), ["completion.enabled", "completion.experts", "contextSize", "maxTokens", "threads"]);
    });

    test("valid values are kept, over a base", () => {
        const { settings } = parseSettings({ completion: { experts: 1 } }, { ...DEFAULT_SETTINGS, modelPath: "/m.gguf" });
        assert.equal(settings.completion.experts, 1);
        assert.equal(settings.modelPath, "/m.gguf");
    });

    test("model, threads, context and expert changes need a reload; the rest does not", () => {
        const a = DEFAULT_SETTINGS;
        assert.equal(needsReload(a, parseSettings({ completion: { debounceMs: 10 } }).settings), false);
        assert.equal(needsReload(a, parseSettings({ completion: { experts: 4 } }).settings), false, "the native runtime changes k without a load; EngineFeature decides for the fallback");
        assert.equal(needsReload(a, parseSettings({ modelPath: "/x.gguf" }).settings), true);
    });
});
