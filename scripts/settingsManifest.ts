// Writes the settings table (server/settings/schema.ts) into package.json:
//   npm run settings:manifest
import { readFileSync, writeFileSync } from "node:fs";
import { manifestProperties, manifestRestrictedConfigurations } from "../server/settings/manifest";

const file = new URL("../package.json", import.meta.url);
const manifest = JSON.parse(readFileSync(file, "utf8")) as {
    contributes: { configuration: { properties: unknown } };
    capabilities: { untrustedWorkspaces: { restrictedConfigurations: unknown } };
};
manifest.contributes.configuration.properties = manifestProperties();
manifest.capabilities.untrustedWorkspaces.restrictedConfigurations = manifestRestrictedConfigurations();
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
console.log("package.json: settings written from server/settings/schema.ts");
