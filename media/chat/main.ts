/**
 * The chat panel's UI, running in the webview (a browser page with a strict CSP).
 *
 * Model output is untrusted text. It is rendered by markdown-it with raw HTML off (HTML in the
 * answer is shown as text), then sanitized by DOMPurify (no scripts, no event handlers, links
 * only to http(s)), and the page's CSP allows no inline or remote script anyway. Code blocks keep
 * their raw text outside the DOM; their buttons send that text to the extension.
 */
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/common";
import MarkdownIt from "markdown-it";
import type { FromWebview, StoredMessage, ToWebview, ViewState } from "../../src/chat/webviewProtocol";
import { RoutingMap } from "./routingMap";

declare function acquireVsCodeApi(): { postMessage(message: FromWebview): void };
const vscode = acquireVsCodeApi();
const post = (message: FromWebview) => vscode.postMessage(message);

/** Raw code of every rendered code block, by index; the DOM holds only highlighted copies. */
let codeBlocks: { code: string; language: string }[] = [];

const markdown = new MarkdownIt({ html: false, linkify: false, breaks: false });
markdown.renderer.rules.fence = (tokens, idx) => {
    const token = tokens[idx]!;
    const language = token.info.trim().split(/\s+/)[0] ?? "";
    const index = codeBlocks.push({ code: token.content, language }) - 1;
    const highlighted =
        language && hljs.getLanguage(language)
            ? hljs.highlight(token.content, { language, ignoreIllegals: true }).value
            : markdown.utils.escapeHtml(token.content);
    const label = markdown.utils.escapeHtml(language || "code");
    return (
        `<div class="code-block" data-index="${index}"><div class="code-actions"><span class="code-language">${label}</span>` +
        `<button class="code-action" data-action="copy" aria-label="Copy code" title="Copy"><i class="codicon codicon-copy"></i></button>` +
        `<button class="code-action" data-action="insert" aria-label="Insert code at cursor" title="Insert at cursor"><i class="codicon codicon-insert"></i></button>` +
        `<button class="code-action" data-action="apply" aria-label="Apply code to the editor (shows a diff first)" title="Apply (diff)"><i class="codicon codicon-diff"></i></button>` +
        `</div><pre><code class="hljs">${highlighted}</code></pre></div>`
    );
};

const SANITIZE = {
    ALLOWED_URI_REGEXP: /^(?:https?:|#)/i,
    FORBID_TAGS: [
        "style",
        "form",
        "input",
        "textarea",
        "select",
        "iframe",
        "object",
        "embed",
        "img",
        "video",
        "audio",
        "svg",
        "math"
    ],
    FORBID_ATTR: ["style"]
};

export function renderMarkdown(text: string): string {
    return DOMPurify.sanitize(markdown.render(text), SANITIZE) as string;
}

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;
const messagesEl = $<HTMLDivElement>("#messages");
const input = $<HTMLTextAreaElement>("#input");
const sendButton = $<HTMLButtonElement>("#send");
const stopButton = $<HTMLButtonElement>("#stop");
const historySelect = $<HTMLSelectElement>("#history");
const expertsSelect = $<HTMLSelectElement>("#experts");
const contextEl = $<HTMLDivElement>("#context");
const statusEl = $<HTMLDivElement>("#status");
const noticeEl = $<HTMLDivElement>("#notice");
const routingMap = new RoutingMap(
    $<HTMLDetailsElement>("#routing"),
    $<HTMLCanvasElement>("#routing-map"),
    $<HTMLDivElement>("#routing-legend")
);

let state: ViewState | undefined;
let streaming = "";
let renderQueued = false;

function messageHtml(m: StoredMessage): string {
    if (m.role === "user") {
        const attached = m.attachments?.length
            ? `<div class="attachments">${m.attachments.map((a) => `<span class="chip">${markdown.utils.escapeHtml(a)}</span>`).join("")}</div>`
            : "";
        return `<div class="message user"><div class="role">You</div>${attached}<div class="content">${markdown.utils.escapeHtml(m.content).replace(/\n/g, "<br>")}</div></div>`;
    }
    const interrupted =
        m.interrupted === "stopped"
            ? `<div class="interrupted">Stopped.</div>`
            : m.interrupted === "server-stopped"
              ? `<div class="interrupted">Interrupted: the server stopped while answering.</div>`
              : m.interrupted === "repeating"
                ? `<div class="interrupted">Stopped: repeating (the model was looping; the rest was cut).</div>`
                : "";
    const references = m.references?.length
        ? `<div class="attachments references">${m.references.map((r) => `<button class="chip reference" data-uri="${markdown.utils.escapeHtml(r.uri)}" data-line="${r.line}" title="Open ${markdown.utils.escapeHtml(r.label)}">${markdown.utils.escapeHtml(r.label)}</button>`).join("")}</div>`
        : "";
    return `<div class="message assistant"><div class="role">MoE Pilot</div>${references}<div class="content markdown">${renderMarkdown(m.content)}</div>${interrupted}</div>`;
}

function render() {
    if (!state) return;
    codeBlocks = [];
    const messages = [...state.chat.messages];
    if (state.busy && streaming !== "") {
        const last = messages.at(-1);
        if (last?.role === "assistant") messages[messages.length - 1] = { ...last, content: streaming };
        else messages.push({ role: "assistant", content: streaming });
    }
    messagesEl.innerHTML =
        messages.length === 0
            ? `<div class="empty">Ask about your code. Attach the selection, the current file or its problems below; mention a workspace file with @path.</div>`
            : messages.map(messageHtml).join("");
    if (state.busy) messagesEl.insertAdjacentHTML("beforeend", `<div class="typing" aria-label="Answering">…</div>`);
    messagesEl.scrollTop = messagesEl.scrollHeight;

    sendButton.hidden = state.busy;
    stopButton.hidden = !state.busy;
    historySelect.innerHTML = state.history
        .map(
            (h) =>
                `<option value="${markdown.utils.escapeHtml(h.id)}"${h.id === state!.chat.id ? " selected" : ""}>${markdown.utils.escapeHtml(h.title)}</option>`
        )
        .join("");

    const model = state.model;
    const options =
        model && model.expertCount > 0
            ? [
                  `<option value="auto">experts: auto (${model.trainedK})</option>`,
                  ...Array.from(
                      { length: model.expertCount },
                      (_, i) => `<option value="${i + 1}">experts: ${i + 1} of ${model.expertCount}</option>`
                  )
              ]
            : [`<option value="auto">experts: n/a</option>`];
    expertsSelect.innerHTML = options.join("");
    expertsSelect.value = String(state.chat.experts);
    expertsSelect.disabled = !model || model.expertCount === 0;

    const last = [...state.chat.messages].reverse().find((m) => m.role === "assistant" && m.meta);
    statusEl.textContent = last?.meta
        ? `${last.meta.tokensPerSecond} tokens/s · k=${last.meta.experts}${last.meta.trimmed ? ` · ${last.meta.trimmed}` : ""}`
        : "";
    contextEl.querySelectorAll<HTMLInputElement>("input[type=checkbox]").forEach((box) => {
        box.checked = state!.context[box.name as keyof ViewState["context"]];
    });
    $<HTMLDivElement>("#pending").textContent = state.pendingContext.length
        ? `Attached: ${state.pendingContext.join(", ")}`
        : "";
    noticeEl.textContent = state.notice ?? "";
    noticeEl.hidden = !state.notice;
    $<HTMLDivElement>("#demo").hidden = !state.model?.demo;
}

function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
        renderQueued = false;
        render();
    });
}

function send() {
    const text = input.value.trim();
    if (!text || state?.busy) return;
    post({ type: "send", text });
    input.value = "";
}

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
    const message = event.data;
    switch (message.type) {
        case "state":
            // a new answer (or another chat) starts with an empty map
            if ((message.state.busy && !state?.busy) || message.state.chat.id !== state?.chat.id) routingMap.reset();
            state = message.state;
            if (!state.busy) streaming = "";
            else
                streaming = state.chat.messages.at(-1)?.role === "assistant" ? state.chat.messages.at(-1)!.content : "";
            render();
            break;
        case "chunk":
            streaming += message.text;
            if (message.routing) routingMap.add(message.routing);
            queueRender();
            break;
        case "focusInput":
            input.focus();
            break;
    }
});

input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
    }
});
document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state?.busy) {
        e.preventDefault();
        post({ type: "stop" });
    }
});
sendButton.addEventListener("click", send);
stopButton.addEventListener("click", () => post({ type: "stop" }));
$<HTMLButtonElement>("#new").addEventListener("click", () => post({ type: "newChat" }));
$<HTMLButtonElement>("#choose-model").addEventListener("click", () => post({ type: "chooseModel" }));
$<HTMLButtonElement>("#regenerate").addEventListener("click", () => post({ type: "regenerate" }));
$<HTMLButtonElement>("#delete").addEventListener("click", () => {
    if (state) post({ type: "deleteChat", id: state.chat.id });
});
historySelect.addEventListener("change", () => post({ type: "openChat", id: historySelect.value }));
expertsSelect.addEventListener("change", () =>
    post({ type: "setExperts", experts: expertsSelect.value === "auto" ? "auto" : Number(expertsSelect.value) })
);
contextEl.addEventListener("change", () => {
    const boxes = [...contextEl.querySelectorAll<HTMLInputElement>("input[type=checkbox]")];
    const get = (name: string) => boxes.find((b) => b.name === name)?.checked ?? false;
    post({
        type: "setContext",
        context: {
            selection: get("selection"),
            currentFile: get("currentFile"),
            diagnostics: get("diagnostics"),
            workspace: get("workspace")
        }
    });
});
messagesEl.addEventListener("click", (e) => {
    const reference = (e.target as HTMLElement).closest<HTMLButtonElement>("button.reference");
    if (reference) {
        post({ type: "openReference", uri: reference.dataset.uri ?? "", line: Number(reference.dataset.line) });
        return;
    }
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button.code-action");
    if (!button) return;
    const block = codeBlocks[Number(button.closest<HTMLElement>(".code-block")?.dataset.index)];
    if (!block) return;
    const action = button.dataset.action;
    if (action === "copy") post({ type: "copyCode", code: block.code });
    if (action === "insert") post({ type: "insertCode", code: block.code });
    if (action === "apply") post({ type: "applyCode", code: block.code, language: block.language });
});

post({ type: "ready" });
