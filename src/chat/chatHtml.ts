/**
 * The chat webview's page. Its Content-Security-Policy allows scripts only with this load's
 * nonce (from crypto), styles and fonts only from the extension, no remote anything — so even
 * HTML that got past the sanitizer could not run or load.
 */
export function chatHtml(options: { cspSource: string; nonce: string; uri: (...path: string[]) => string }): string {
    const { cspSource, nonce, uri } = options;
    const csp = [
        "default-src 'none'",
        `style-src ${cspSource}`,
        `font-src ${cspSource}`,
        `img-src ${cspSource}`,
        `script-src 'nonce-${nonce}'`
    ].join("; ");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${uri("dist", "codicons", "codicon.css")}" rel="stylesheet">
<link href="${uri("media", "chat", "chat.css")}" rel="stylesheet">
<title>MoE Pilot chat</title>
</head>
<body>
<div id="app">
  <header>
    <select id="history" aria-label="Past chats"></select>
    <button id="new" aria-label="New chat" title="New chat"><i class="codicon codicon-add"></i></button>
    <button id="delete" aria-label="Delete this chat" title="Delete this chat"><i class="codicon codicon-trash"></i></button>
    <select id="experts" aria-label="Experts per token for this chat"></select>
  </header>
  <div id="notice" role="status" hidden></div>
  <div id="demo" role="note" hidden>The embedded demo model answers: a tiny model that shows how the panel works, not advice. <button id="choose-model" class="link">Choose Model…</button></div>
  <main id="messages" role="log" aria-live="polite" aria-label="Conversation"></main>
  <details id="routing" hidden>
    <summary>Experts used by this answer</summary>
    <canvas id="routing-map" role="img"></canvas>
    <div id="routing-legend"></div>
  </details>
  <footer>
    <div id="context" role="group" aria-label="Context to attach">
      <label><input type="checkbox" name="selection"> Selection</label>
      <label><input type="checkbox" name="currentFile"> Current file</label>
      <label><input type="checkbox" name="diagnostics"> Problems</label>
      <label title="Find the code in this workspace that answers the question (or write @workspace)"><input type="checkbox" name="workspace"> Workspace</label>
    </div>
    <div id="pending"></div>
    <textarea id="input" rows="3" aria-label="Message (Enter sends, Shift+Enter for a new line, Escape stops)" placeholder="Ask about your code… (@file to attach a file, @workspace to search the workspace)"></textarea>
    <div class="row">
      <div id="status"></div>
      <button id="regenerate" aria-label="Regenerate the last answer" title="Regenerate"><i class="codicon codicon-refresh"></i></button>
      <button id="stop" aria-label="Stop generating" title="Stop (Escape)" hidden><i class="codicon codicon-debug-stop"></i> Stop</button>
      <button id="send" class="primary" aria-label="Send" title="Send (Enter)"><i class="codicon codicon-send"></i> Send</button>
    </div>
  </footer>
</div>
<script nonce="${nonce}" src="${uri("dist", "webview.js")}"></script>
</body>
</html>`;
}
