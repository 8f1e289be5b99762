/**
 * `textDocument/codeAction`: MoE Pilot's actions in the light bulb. The server decides which
 * apply (a selection → explain, document, test, edit; problems under the cursor → fix); each is
 * a command the client runs, since the answer goes to the chat panel or through a diff.
 */
import {
    CodeActionKind,
    type ClientCapabilities,
    type CodeAction,
    type Connection,
    type ServerCapabilities
} from "vscode-languageserver";
import type { Feature } from "../feature";

/** The client commands the actions run, with (uri, range) as arguments. */
const ACTION_COMMANDS = {
    explain: "moePilot.explain",
    fix: "moePilot.fix",
    generateTests: "moePilot.generateTests",
    addDocComment: "moePilot.addDocComment",
    editSelection: "moePilot.editSelection"
} as const;

export class CodeActionFeature implements Feature {
    constructor(private readonly connection: Connection) {}

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
        this.connection.onCodeAction((params) => {
            const { range, context, textDocument } = params;
            const args = [textDocument.uri, range];
            const actions: CodeAction[] = [];
            if (context.diagnostics.length > 0)
                actions.push({
                    title: "MoE Pilot: Fix this problem",
                    kind: CodeActionKind.QuickFix,
                    diagnostics: context.diagnostics,
                    command: { title: "Fix", command: ACTION_COMMANDS.fix, arguments: args }
                });
            const selected = range.start.line !== range.end.line || range.start.character !== range.end.character;
            if (selected) {
                actions.push(
                    {
                        title: "MoE Pilot: Explain",
                        kind: CodeActionKind.Empty,
                        command: { title: "Explain", command: ACTION_COMMANDS.explain, arguments: args }
                    },
                    {
                        title: "MoE Pilot: Edit with instruction…",
                        kind: CodeActionKind.RefactorRewrite,
                        command: { title: "Edit", command: ACTION_COMMANDS.editSelection, arguments: args }
                    },
                    {
                        title: "MoE Pilot: Add documentation comment",
                        kind: CodeActionKind.RefactorRewrite,
                        command: { title: "Document", command: ACTION_COMMANDS.addDocComment, arguments: args }
                    },
                    {
                        title: "MoE Pilot: Generate tests",
                        kind: CodeActionKind.Empty,
                        command: { title: "Tests", command: ACTION_COMMANDS.generateTests, arguments: args }
                    }
                );
            }
            return actions;
        });
        return {
            codeActionProvider: {
                codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite, CodeActionKind.Empty]
            }
        };
    }
}
