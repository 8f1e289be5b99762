import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

// src/workspaceTrust.ts imports vscode; its pure part is re-declared nowhere: read the list from the source and the manifest.
const ROOT = path.resolve(import.meta.dirname, "..", "..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    capabilities: { untrustedWorkspaces: { supported: string, restrictedConfigurations: string[] } },
    contributes: { configuration: { properties: Record<string, { markdownDescription?: string, description?: string }> } }
};

test("every setting that names a file, a folder or a server is restricted in untrusted workspaces", () => {
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
    const pointers = Object.keys(manifest.contributes.configuration.properties)
        .filter((key) => /modelPath$|directory$|Endpoint$|endpoint$/.test(key));
    assert.ok(pointers.length >= 5, pointers.join(", "));
    for (const key of pointers) assert.ok(restricted.includes(key), `${key} is restricted`);
    const source = readFileSync(path.join(ROOT, "src", "workspaceTrust.ts"), "utf8");
    for (const key of restricted) assert.ok(source.includes(`"${key.replace(/^moePilot\./, "")}"`), `the client tells the user about ${key}`);
});
