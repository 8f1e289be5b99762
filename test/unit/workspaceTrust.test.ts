import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { RESTRICTED_SETTINGS } from "../../server/settings/schema";
import { restrictedSettingsIn } from "../../src/restrictedSettings";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
    contributes: { configuration: { properties: Record<string, unknown> } };
};

test("every setting that names a file, a folder or a server is restricted in untrusted workspaces, in the manifest and the client alike", () => {
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
    const pointers = Object.keys(manifest.contributes.configuration.properties).filter((key) =>
        /modelPath$|directory$|[eE]ndpoint$/.test(key)
    );
    assert.ok(pointers.length >= 5, pointers.join(", "));
    assert.deepEqual([...restricted].sort(), [...pointers].sort());
    assert.deepEqual([...RESTRICTED_SETTINGS].sort(), [...restricted].sort());
});

test("the restricted settings a workspace sets are found in its settings files (JSONC) and .code-workspace files", () => {
    const folder = `{
        // a cloned repository's choice
        "moePilot.modelPath": "./evil.gguf",
        "editor.tabSize": 2,
    }`;
    const workspaceFile = JSON.stringify({
        folders: [],
        settings: { "moePilot.remote.endpoint": "http://attacker:8080", "moePilot.threads": 2 }
    });
    assert.deepEqual(restrictedSettingsIn([folder, workspaceFile]).sort(), [
        "moePilot.modelPath",
        "moePilot.remote.endpoint"
    ]);
    assert.deepEqual(restrictedSettingsIn(['{ "moePilot.threads": 4 }', "not json at all"]), []);
});
