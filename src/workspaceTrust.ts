/**
 * Workspace trust. A workspace's own settings could point MoE Pilot at a model file, a download
 * folder or a server the workspace chose (a cloned repository with a `.vscode/settings.json`).
 * In Restricted Mode VS Code ignores the workspace's values of the settings listed in
 * `package.json` (`capabilities.untrustedWorkspaces.restrictedConfigurations`); this tells the user
 * which of them were ignored, and hands the settings to the server again once the workspace is trusted.
 */
import * as vscode from "vscode";
import { CONFIG_SECTION } from "./config";

/** Settings that name a file, a folder or a server: the workspace may not choose them while untrusted. */
export const RESTRICTED_SETTINGS = ["modelPath", "chat.modelPath", "models.directory", "models.huggingFaceEndpoint", "remote.endpoint"] as const;

type Inspected = { workspaceValue?: unknown, workspaceFolderValue?: unknown } | undefined;

/** The restricted settings this workspace sets (and that are ignored while it is untrusted). */
export function workspaceOverrides(inspect: (key: string) => Inspected): string[] {
    return RESTRICTED_SETTINGS.filter((key) => {
        const i = inspect(key);
        return i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined;
    }).map((key) => `${CONFIG_SECTION}.${key}`);
}

export function watchWorkspaceTrust(onTrusted: () => void): vscode.Disposable {
    if (!vscode.workspace.isTrusted) {
        const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
        const ignored = workspaceOverrides((key) => config.inspect(key));
        if (ignored.length > 0) {
            void vscode.window.showWarningMessage(
                `MoE Pilot: this workspace is not trusted, so its settings ${ignored.join(", ")} are ignored (user settings apply). Trust the workspace to use them.`,
                "Manage Workspace Trust"
            ).then((choice) => { if (choice) void vscode.commands.executeCommand("workbench.trust.manage"); });
        }
    }
    return vscode.workspace.onDidGrantWorkspaceTrust(onTrusted);
}
