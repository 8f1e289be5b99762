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

    test("models, chat model and remote engine: valid values kept, bad ones reported; a remote or chat model change reloads", () => {
        const { settings, problems } = parseSettings({
            chat: { modelPath: " /chat.gguf " }, models: { directory: "~/models", huggingFaceEndpoint: "ftp://mirror" },
            remote: { endpoint: "http://gpu:8080", kind: "vllm", timeoutMs: 5 }
        });
        assert.equal(settings.chat.modelPath, "/chat.gguf");
        assert.equal(settings.models.directory, "~/models");
        assert.equal(settings.models.huggingFaceEndpoint, "", "not an http(s) URL");
        assert.equal(settings.remote.endpoint, "http://gpu:8080");
        assert.equal(settings.remote.kind, "auto");
        assert.equal(settings.remote.timeoutMs, DEFAULT_SETTINGS.remote.timeoutMs);
        assert.deepEqual(problems.map((p) => p.key).sort(), ["models.huggingFaceEndpoint", "remote.kind", "remote.timeoutMs"]);
        assert.equal(needsReload(DEFAULT_SETTINGS, parseSettings({ remote: { endpoint: "http://x:1" } }).settings), true);
        assert.equal(needsReload(DEFAULT_SETTINGS, parseSettings({ chat: { modelPath: "/c.gguf" } }).settings), true);
        assert.equal(needsReload(DEFAULT_SETTINGS, parseSettings({ models: { directory: "/m" } }).settings), false, "a download folder needs no reload");
    });
});
