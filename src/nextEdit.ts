/**
 * Next-edit suggestions in the editor, with stable API only: after an edit and a pause, the
 * server is asked (`moePilot/nextEdit`); its proposal is shown where it applies — what it removes
 * struck through, what it adds after it, a mark in the overview ruler when it is out of view.
 * Tab goes to it, Tab again applies it (and the next proposal is asked for, so a rename's uses
 * follow one another); Escape dismisses it. A proposal at the cursor that only inserts is the
 * inline suggestion instead, which Tab accepts the usual way.
 *
 * The context key `moePilot.nextEditVisible` turns the Tab and Escape keybindings on.
 */
import * as vscode from "vscode";
import { type NextEditItem, NextEditRequest } from "../server/protocol";
import type { Ctx } from "./ctx";

const VISIBLE_KEY = "moePilot.nextEditVisible";
/** How long the user pauses after an edit before a proposal is asked for. */
const PAUSE_MS = 500;

type Proposal = { uri: string; version: number; range: vscode.Range; newText: string };

const removed = vscode.window.createTextEditorDecorationType({
    textDecoration: "line-through",
    backgroundColor: new vscode.ThemeColor("diffEditor.removedTextBackground"),
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.modifiedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Full
});
const added = vscode.window.createTextEditorDecorationType({
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.modifiedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Full
});

const toRange = (r: NextEditItem["range"]) =>
    new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);

export class NextEditController implements vscode.Disposable {
    private proposal?: Proposal;
    private timer?: NodeJS.Timeout;
    private asking?: vscode.CancellationTokenSource;
    /** The document version our own apply produced: that change asks for the next proposal without a pause. */
    private applying?: { uri: string; version: number };
    private readonly subscriptions: vscode.Disposable[] = [];

    constructor(private readonly ctx: Ctx) {
        this.subscriptions.push(
            vscode.workspace.onDidChangeTextDocument((e) => this.changed(e)),
            vscode.window.onDidChangeActiveTextEditor(() => this.clear()),
            vscode.languages.registerInlineCompletionItemProvider(
                { pattern: "**" },
                { provideInlineCompletionItems: (d, p) => this.inline(d, p) }
            )
        );
    }

    private get enabled(): boolean {
        return vscode.workspace.getConfiguration("moePilot").get<boolean>("nextEdit.enabled", true);
    }

    private changed(e: vscode.TextDocumentChangeEvent) {
        const editor = vscode.window.activeTextEditor;
        if (!editor || e.document !== editor.document || e.contentChanges.length === 0) return;
        // A proposal being worked out is for text that is not there any more: stop it, so the model is free for the
        // completion this keystroke asks for.
        this.asking?.cancel();
        this.clear();
        if (!this.enabled) return;
        clearTimeout(this.timer);
        const ours = this.applying?.uri === e.document.uri.toString();
        this.applying = undefined;
        this.timer = setTimeout(() => void this.ask(editor), ours ? 0 : PAUSE_MS);
    }

    private async ask(editor: vscode.TextEditor) {
        const client = this.ctx.running;
        if (!client || vscode.window.activeTextEditor !== editor) return;
        this.asking?.cancel();
        const asking = new vscode.CancellationTokenSource();
        this.asking = asking;
        const doc = editor.document;
        const version = doc.version;
        const cursor = editor.selection.active;
        try {
            const { items } = await client.sendRequest(
                NextEditRequest.type,
                {
                    textDocument: { uri: doc.uri.toString() },
                    position: { line: cursor.line, character: cursor.character }
                },
                asking.token
            );
            const item = items[0];
            // Typed on meanwhile: the proposal is for text that is not there any more.
            if (!item || asking.token.isCancellationRequested || doc.version !== version) return;
            this.show(editor, { uri: doc.uri.toString(), version, range: toRange(item.range), newText: item.newText });
        } catch (e: unknown) {
            if (!asking.token.isCancellationRequested) this.ctx.log.warn(`next edit: ${String(e)}`);
        }
    }

    private show(editor: vscode.TextEditor, proposal: Proposal) {
        this.proposal = proposal;
        const { range, newText } = proposal;
        if (this.atCursor(editor) && range.isEmpty) {
            // An insertion at the cursor is what inline suggestions show.
            void vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
            return;
        }
        // Tab is the proposal's now: a completion shown at the cursor (the rest of a name just typed) would take the key.
        void vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
        editor.setDecorations(removed, range.isEmpty ? [] : [range]);
        const shown = newText.replace(/\n/g, "⏎");
        editor.setDecorations(added, [
            {
                range: new vscode.Range(range.end, range.end),
                renderOptions: {
                    after: {
                        contentText: shown || "⌫",
                        backgroundColor: new vscode.ThemeColor("diffEditor.insertedTextBackground"),
                        border: "1px solid",
                        borderColor: new vscode.ThemeColor("diffEditor.insertedLineBackground")
                    }
                }
            }
        ]);
        void vscode.commands.executeCommand("setContext", VISIBLE_KEY, true);
    }

    private atCursor(editor: vscode.TextEditor): boolean {
        const p = this.proposal;
        return !!p && editor.selection.isEmpty && editor.selection.active.isEqual(p.range.start);
    }

    /** Tab: go to the proposal, or apply it when the cursor is there. */
    async accept() {
        const editor = vscode.window.activeTextEditor;
        const p = this.proposal;
        if (!editor || !p || editor.document.uri.toString() !== p.uri || editor.document.version !== p.version) {
            this.clear();
            return;
        }
        if (!this.atCursor(editor)) {
            editor.selection = new vscode.Selection(p.range.start, p.range.start);
            editor.revealRange(p.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
            return;
        }
        this.applying = { uri: p.uri, version: p.version + 1 };
        const applied = await editor.edit((b) => b.replace(p.range, p.newText));
        if (!applied) this.applying = undefined;
    }

    private inline(doc: vscode.TextDocument, position: vscode.Position): vscode.InlineCompletionItem[] {
        const p = this.proposal;
        if (!p || p.uri !== doc.uri.toString() || p.version !== doc.version || !p.range.isEmpty) return [];
        if (!p.range.start.isEqual(position)) return [];
        return [new vscode.InlineCompletionItem(p.newText, p.range)];
    }

    /** Escape. */
    dismiss() {
        this.clear();
    }

    private clear() {
        if (!this.proposal) return;
        this.proposal = undefined;
        for (const editor of vscode.window.visibleTextEditors) {
            editor.setDecorations(removed, []);
            editor.setDecorations(added, []);
        }
        void vscode.commands.executeCommand("setContext", VISIBLE_KEY, false);
    }

    dispose() {
        clearTimeout(this.timer);
        this.asking?.cancel();
        this.clear();
        for (const s of this.subscriptions) s.dispose();
    }
}
