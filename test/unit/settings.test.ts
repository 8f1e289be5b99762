import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { manifestProperties, manifestRestrictedConfigurations } from "../../server/settings/manifest";
import { SETTINGS } from "../../server/settings/schema";
import { DEFAULT_SETTINGS, needsReload, parseSettings } from "../../server/settings/settings";

const manifest = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as {
    contributes: { configuration: { properties: Record<string, Record<string, unknown>> } };
    capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
};

describe("settings", () => {
    test("package.json declares exactly the table: every key, type, default, bound, enum, scope and description (npm run settings:manifest writes it)", () => {
        const declared = manifest.contributes.configuration.properties;
        const table = manifestProperties();
        assert.deepEqual(Object.keys(declared), Object.keys(table), "the same keys, in the same order");
        for (const [key, schema] of Object.entries(table)) assert.deepEqual(declared[key], schema, key);
        assert.deepEqual(
            manifest.capabilities.untrustedWorkspaces.restrictedConfigurations,
            manifestRestrictedConfigurations()
        );
    });

    test("every default passes its own check", () => {
        for (const [key, d] of Object.entries(SETTINGS))
            assert.deepEqual((d.check.parse as (v: unknown) => unknown)(d.default), d.default, key);
    });

    test("missing values take the defaults", () => {
        assert.deepEqual(parseSettings(undefined), { settings: DEFAULT_SETTINGS, problems: [] });
    });

    test("wrong types and out-of-range values are replaced and reported under their full keys", () => {
        const { settings, problems } = parseSettings({
            threads: "many",
            contextSize: 10,
            completion: { experts: 0, maxTokens: 2e9, enabled: "yes" }
        });
        assert.equal(settings.threads, DEFAULT_SETTINGS.threads);
        assert.equal(settings.contextSize, DEFAULT_SETTINGS.contextSize);
        assert.equal(settings.completion.experts, "auto");
        assert.equal(settings.completion.maxTokens, DEFAULT_SETTINGS.completion.maxTokens);
        assert.equal(settings.completion.enabled, true);
        assert.deepEqual(problems.map((p) => p.key).sort(), [
            "moePilot.completion.enabled",
            "moePilot.completion.experts",
            "moePilot.completion.maxTokens",
            "moePilot.contextSize",
            "moePilot.threads"
        ]);
        assert.equal(
            problems.find((p) => p.key === "moePilot.completion.maxTokens")?.message,
            "must be a whole number from 1 to 1024; using 64"
        );
    });

    test("valid values are kept, over a base", () => {
        const { settings } = parseSettings(
            { completion: { experts: 1 } },
            { ...DEFAULT_SETTINGS, modelPath: "/m.gguf" }
        );
        assert.equal(settings.completion.experts, 1);
        assert.equal(settings.modelPath, "/m.gguf");
    });

    test("model, threads, context and placement changes need a reload; the completion k and the rest do not", () => {
        const a = DEFAULT_SETTINGS;
        assert.equal(needsReload(a, parseSettings({ completion: { debounceMs: 10 } }).settings), false);
        assert.equal(
            needsReload(a, parseSettings({ completion: { experts: 4 } }).settings),
            false,
            "the native runtime changes k without a load; EngineFeature decides for stock binaries"
        );
        for (const raw of [
            { modelPath: "/x.gguf" },
            { threads: 3 },
            { contextSize: 2048 },
            { gpu: { expertsOnCpu: "all" } },
            { memory: { budget: 100 } }
        ])
            assert.equal(needsReload(a, parseSettings(raw).settings), true, JSON.stringify(raw));
    });

    test("models, chat model and remote engine: valid values kept, bad ones reported; a remote or chat model change reloads", () => {
        const { settings, problems } = parseSettings({
            chat: { modelPath: " /chat.gguf " },
            models: { directory: "~/models", huggingFaceEndpoint: "ftp://mirror" },
            remote: { endpoint: "http://gpu:8080", kind: "vllm", timeoutMs: 5, fimFormat: "nonsense" }
        });
        assert.equal(settings.chat.modelPath, "/chat.gguf");
        assert.equal(settings.models.directory, "~/models");
        assert.equal(settings.models.huggingFaceEndpoint, "", "not an http(s) URL");
        assert.equal(settings.remote.endpoint, "http://gpu:8080");
        assert.equal(settings.remote.kind, "auto");
        assert.equal(settings.remote.fimFormat, "auto");
        assert.equal(settings.remote.timeoutMs, DEFAULT_SETTINGS.remote.timeoutMs);
        assert.deepEqual(problems.map((p) => p.key).sort(), [
            "moePilot.models.huggingFaceEndpoint",
            "moePilot.remote.fimFormat",
            "moePilot.remote.kind",
            "moePilot.remote.timeoutMs"
        ]);
        assert.match(
            problems.find((p) => p.key === "moePilot.remote.kind")!.message,
            /^must be "auto", "llama-server" or "openai"; using "auto"$/
        );
        assert.equal(
            needsReload(DEFAULT_SETTINGS, parseSettings({ remote: { endpoint: "http://x:1" } }).settings),
            true
        );
        assert.equal(needsReload(DEFAULT_SETTINGS, parseSettings({ chat: { modelPath: "/c.gguf" } }).settings), true);
        assert.equal(
            needsReload(DEFAULT_SETTINGS, parseSettings({ models: { directory: "/m" } }).settings),
            false,
            "a download folder needs no reload"
        );
    });
});
