/**
 * Workspace trust. A workspace's own settings could point MoE Pilot at a model file, a download
 * folder or a server the workspace chose (a cloned repository with a `.vscode/settings.json`).
 * In Restricted Mode VS Code ignores the workspace's values of the settings listed in
 * `package.json` (`capabilities.untrustedWorkspaces.restrictedConfigurations`) and hides them from
 * the extension too; so this reads the workspace's settings files to tell the user which of them
 * were ignored, and hands the settings to the server again once the workspace is trusted.
 */
import * as vscode from "vscode";
import { restrictedSettingsIn } from "./restrictedSettings";

async function workspaceSettingsTexts(): Promise<string[]> {
    const files = [
        ...(vscode.workspace.workspaceFolders ?? []).map((f) => vscode.Uri.joinPath(f.uri, ".vscode", "settings.json")),
        ...(vscode.workspace.workspaceFile?.scheme === "file" ? [vscode.workspace.workspaceFile] : [])
    ];
    const texts = await Promise.all(
        files.map((f) =>
            Promise.resolve(vscode.workspace.fs.readFile(f)).then(
                (b) => new TextDecoder().decode(b),
                () => ""
            )
        )
    );
    return texts.filter((t) => t !== "");
}

export function watchWorkspaceTrust(onTrusted: () => void): vscode.Disposable {
    if (!vscode.workspace.isTrusted) {
        void workspaceSettingsTexts().then((texts) => {
            const ignored = restrictedSettingsIn(texts);
            if (ignored.length === 0) return;
            void vscode.window
                .showWarningMessage(
                    `MoE Pilot: this workspace is not trusted, so its settings ${ignored.join(", ")} are ignored (user settings apply). Trust the workspace to use them.`,
                    "Manage Workspace Trust"
                )
                .then((choice) => {
                    if (choice) void vscode.commands.executeCommand("workbench.trust.manage");
                });
        });
    }
    return vscode.workspace.onDidGrantWorkspaceTrust(onTrusted);
}
