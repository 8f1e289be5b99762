/**
 * Answers the server's `moePilot/definitions` from VS Code's own language features (whatever
 * extension provides definitions for the language), so the completion context gets the
 * declarations the editor resolves through imports and types (as Tabby's agent does), and where
 * a value's type is declared (the members a completion after `object.` may start with).
 */
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { DefinitionsRequest } from "../server/protocol";

const toRange = (r: vscode.Range) => ({
    start: { line: r.start.line, character: r.start.character },
    end: { line: r.end.line, character: r.end.character }
});

export function answerDefinitions(client: LanguageClient) {
    client.onRequest(DefinitionsRequest.type, async (params) => {
        const uri = vscode.Uri.parse(params.textDocument.uri);
        return Promise.all(
            params.positions.map(async (p) => {
                const found = await vscode.commands
                    .executeCommand<(vscode.Location | vscode.LocationLink)[] | undefined>(
                        params.kind === "typeDefinition"
                            ? "vscode.executeTypeDefinitionProvider"
                            : "vscode.executeDefinitionProvider",
                        uri,
                        new vscode.Position(p.line, p.character)
                    )
                    .then(
                        (f) => f ?? [],
                        () => []
                    );
                return found.map((l) =>
                    "targetUri" in l
                        ? { uri: l.targetUri.toString(), range: toRange(l.targetSelectionRange ?? l.targetRange) }
                        : { uri: l.uri.toString(), range: toRange(l.range) }
                );
            })
        );
    });
}
