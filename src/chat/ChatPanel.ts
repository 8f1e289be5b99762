/**
 * The chat panel: a WebviewView in MoE Pilot's activity-bar container. The extension keeps the
 * chats (ChatStore), gathers the context the user chose, sends `moePilot/chat/send` over LSP and
 * forwards the streamed chunks to the webview. The webview only renders (media/chat/).
 *
 * Security: a strict Content-Security-Policy (scripts only with this load's nonce, nothing
 * remote), `localResourceRoots` limited to media/ and dist/, and model output rendered as
 * sanitized Markdown with raw HTML off.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from "vscode-languageclient/node";
import { type ChatMessage, ChatRequest, type StatusParams } from "../../server/protocol";
import { proposeEdit } from "../edits/proposeEdit";
import type { Ctx } from "../ctx";
import { gatherAttachments, pendingLabels } from "./attachments";
import { chatHtml } from "./chatHtml";
import { ChatStore } from "./ChatStore";
import type { ContextOptions, FromWebview, StoredMessage, ToWebview, ViewState } from "./webviewProtocol";

/** `@workspace` in a message asks for workspace chunks, like the toggle. */
const WORKSPACE_MENTION = /(^|\s)@workspace\b/;

export class ChatPanel implements vscode.WebviewViewProvider, vscode.Disposable {
    static readonly viewId = "moePilot.chat";
    private view?: vscode.WebviewView;
    private readonly store: ChatStore;
    private running?: { cancel: CancellationTokenSource; message: StoredMessage };
    private context: ContextOptions = { selection: true, currentFile: false, diagnostics: false, workspace: false };
    private notice?: string;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly extension: vscode.ExtensionContext,
        private readonly ctx: Ctx
    ) {
        this.store = new ChatStore(extension.globalState);
        this.disposables.push(
            ctx.onDidChangeStatus((s) => this.onServerStatus(s)),
            vscode.window.onDidChangeTextEditorSelection(() => this.postState()),
            vscode.window.onDidChangeActiveTextEditor(() => this.postState())
        );
    }

    resolveWebviewView(view: vscode.WebviewView) {
        this.view = view;
        const root = this.extension.extensionUri;
        view.webview.options = {
            enableScripts: true,
            localResourceRoots: [vscode.Uri.joinPath(root, "media"), vscode.Uri.joinPath(root, "dist")]
        };
        view.webview.html = this.html(view.webview);
        this.disposables.push(view.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m)));
    }

    /** Asks a question from a command (Explain, Fix…): shows the panel, sends it with the given attachments. */
    async ask(question: string, context: Partial<ContextOptions>) {
        await vscode.commands.executeCommand(`${ChatPanel.viewId}.focus`);
        if (this.running) {
            this.notice = "An answer is still streaming: stop it first.";
            this.postState();
            return;
        }
        await this.send(question, { ...this.context, ...context });
    }

    private post(message: ToWebview) {
        void this.view?.webview.postMessage(message);
    }

    private postState() {
        if (!this.view) return;
        const status = this.ctx.status.serverStatus;
        const state: ViewState = {
            chat: this.store.current,
            history: this.store.list.map(({ id, title, createdAt }) => ({ id, title, createdAt })),
            busy: this.running !== undefined,
            model: status.model && {
                name: status.model.name,
                expertCount: status.model.expertCount,
                trainedK: status.model.trainedK,
                // Chat runs on the completion model unless a chat model of its own is set.
                demo: status.model.isEmbedded && !status.model.chat
            },
            context: this.context,
            pendingContext: pendingLabels(this.context),
            notice: this.notice
        };
        this.post({ type: "state", state });
    }

    private onServerStatus(status: StatusParams) {
        if (status.state !== "ready" && this.running) {
            // The server went away mid-answer: keep what streamed, marked as interrupted.
            this.running.message.interrupted = "server-stopped";
        }
        this.postState();
    }

    private async onMessage(m: FromWebview) {
        switch (m.type) {
            case "ready":
                this.postState();
                break;
            case "send":
                await this.send(m.text, this.context);
                break;
            case "stop":
                this.running?.cancel.cancel();
                break;
            case "regenerate":
                await this.regenerate();
                break;
            case "newChat":
                this.stopAndThen(() => this.store.newChat());
                break;
            case "openChat":
                this.stopAndThen(() => this.store.open(m.id));
                break;
            case "deleteChat":
                this.stopAndThen(() => this.store.delete(m.id));
                break;
            case "setExperts":
                this.store.current.experts = m.experts;
                void this.store.save();
                this.postState();
                break;
            case "setContext":
                this.context = m.context;
                this.postState();
                break;
            case "openReference":
                await this.openReference(m.uri, m.line);
                break;
            case "chooseModel":
                await vscode.commands.executeCommand("moePilot.chooseModel");
                break;
            case "copyCode":
                await vscode.env.clipboard.writeText(m.code);
                break;
            case "insertCode":
                await this.insert(m.code);
                break;
            case "applyCode":
                await this.apply(m.code);
                break;
        }
    }

    private stopAndThen(action: () => void) {
        this.running?.cancel.cancel();
        this.notice = undefined;
        action();
        this.postState();
    }

    private async regenerate() {
        if (this.running) return;
        const chat = this.store.current;
        const lastUser = chat.messages.map((m) => m.role).lastIndexOf("user");
        if (lastUser < 0) return;
        const question = chat.messages[lastUser]!;
        chat.messages.splice(lastUser);
        await this.send(question.content, this.context);
    }

    private async send(text: string, options: ContextOptions) {
        const client = this.ctx.running;
        if (!client) {
            this.notice = "The MoE Pilot server is not running.";
            this.postState();
            return;
        }
        if (this.running) return;
        this.notice = undefined;
        const chat = this.store.current;
        const attachments = await gatherAttachments(options, text);
        const history: ChatMessage[] = chat.messages.map((m) => ({ role: m.role, content: m.content }));
        chat.messages.push({
            role: "user",
            content: text,
            ...(attachments.length ? { attachments: attachments.map((a) => a.label) } : {})
        });
        const answer: StoredMessage = { role: "assistant", content: "" };
        chat.messages.push(answer);
        const cancel = new CancellationTokenSource();
        this.running = { cancel, message: answer };
        await this.store.save();
        this.postState();

        const partialResultToken = `chat-${randomBytes(8).toString("hex")}`;
        const progress = client.onProgress(ChatRequest.partialResult, partialResultToken, (chunk) => {
            if (chunk.references) {
                answer.references = chunk.references.map((r) => ({ label: r.label, uri: r.uri, line: r.startLine }));
                this.postState();
            }
            answer.content += chunk.text;
            this.post({ type: "chunk", text: chunk.text, ...(chunk.routing ? { routing: chunk.routing } : {}) });
            void this.store.save(true);
        });
        try {
            const result = await client.sendRequest(
                ChatRequest.type,
                {
                    messages: [...history, { role: "user", content: text }],
                    attachments,
                    k: chat.experts,
                    workspace: options.workspace || WORKSPACE_MENTION.test(text),
                    partialResultToken
                },
                cancel.token
            );
            answer.content = result.text;
            if (result.references.length > 0)
                answer.references = result.references.map((r) => ({ label: r.label, uri: r.uri, line: r.startLine }));
            const trimmed = [
                result.trimmed.earlierMessages ? `${result.trimmed.earlierMessages} earlier messages left out` : "",
                result.trimmed.attachments.length ? `left out: ${result.trimmed.attachments.join(", ")}` : ""
            ]
                .filter(Boolean)
                .join("; ");
            answer.meta = {
                tokensPerSecond: result.tokensPerSecond,
                experts: result.k,
                ...(trimmed ? { trimmed } : {})
            };
            if (result.stopReason === "cancelled") answer.interrupted = "stopped";
            if (result.stopReason === "repeating") answer.interrupted = "repeating";
            if (!result.template.fromModel)
                this.notice = `This model has no chat template; using a general one (${result.template.name}).`;
        } catch (e: unknown) {
            // The server refused before answering (too long, not loaded): RequestFailed, with the reason. A server that
            // died mid-answer also rejects the request (PendingResponseRejected): that answer is kept, marked interrupted.
            if (
                e instanceof ResponseError &&
                e.code === LSPErrorCodes.RequestFailed &&
                answer.content === "" &&
                !answer.interrupted
            ) {
                chat.messages.pop();
                this.notice = e.message;
            } else {
                answer.interrupted ??= cancel.token.isCancellationRequested ? "stopped" : "server-stopped";
                if (!(e instanceof ResponseError)) this.ctx.log.warn(`chat interrupted: ${String(e)}`);
            }
        } finally {
            progress.dispose();
            this.running = undefined;
            await this.store.save();
            this.postState();
        }
    }

    /** Opens a chunk `@workspace` retrieved: only one this chat's answers name (the page's messages are not trusted further). */
    private async openReference(uri: string, line: number) {
        const known = this.store.current.messages.some((m) =>
            m.references?.some((r) => r.uri === uri && r.line === line)
        );
        if (!known) return;
        const position = new vscode.Position(line, 0);
        try {
            await vscode.window.showTextDocument(vscode.Uri.parse(uri, true), {
                selection: new vscode.Range(position, position),
                preview: true
            });
        } catch (e: unknown) {
            void vscode.window.showWarningMessage(`Could not open ${uri}: ${String(e)}`);
        }
    }

    private async insert(code: string) {
        const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
        if (!editor) {
            void vscode.window.showWarningMessage("Open an editor to insert the code into.");
            return;
        }
        await editor.edit((b) => b.replace(editor.selection, code));
    }

    /** Apply: the code replaces the selection (or goes in at the cursor) — shown as a diff first. */
    private async apply(code: string) {
        const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
        if (!editor) {
            void vscode.window.showWarningMessage("Open the file to apply the code to.");
            return;
        }
        await proposeEdit(editor.document, editor.selection, code, "Apply from chat");
    }

    private html(webview: vscode.Webview): string {
        const uri = (...path: string[]) =>
            webview.asWebviewUri(vscode.Uri.joinPath(this.extension.extensionUri, ...path)).toString();
        return chatHtml({ cspSource: webview.cspSource, nonce: randomBytes(16).toString("base64"), uri });
    }

    dispose() {
        this.running?.cancel.cancel();
        for (const d of this.disposables) d.dispose();
    }
}
