/**
 * The client's view of the `moePilot.*` settings. The server owns their meaning and validates
 * them (it reads them itself through `workspace/configuration` and reloads on change); the
 * client only forwards a snapshot at start-up so the first model load needs no round trip.
 */
import * as vscode from "vscode";
import { SECTION } from "../server/settings/schema";

export class Config {
    /** The `moePilot` section as plain data, for `initializationOptions.settings`. */
    static serverSettings(): unknown {
        // A WorkspaceConfiguration carries methods; the JSON round trip keeps only the values.
        return JSON.parse(JSON.stringify(vscode.workspace.getConfiguration(SECTION))) as unknown;
    }
}
