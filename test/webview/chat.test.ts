/**
 * The chat panel's UI in headless Chromium (Debian's chromium through playwright-core): the real
 * page (src/chat/chatHtml.ts, with its CSP) and the real bundle (dist/webview.js), served on
 * 127.0.0.1, with `acquireVsCodeApi` standing in for the extension host's message channel.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { chatHtml } from "../../src/chat/chatHtml";
import type { FromWebview, StoredMessage, ToWebview, ViewState } from "../../src/chat/webviewProtocol";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
];
const TYPES: Record<string, string> = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".ttf": "font/ttf",
    ".html": "text/html"
};

let server: Server, base: string, browser: Browser;

before(async () => {
    server = createServer((req, res) => {
        const url = new URL(req.url!, "http://x");
        if (url.pathname === "/") {
            const nonce = randomBytes(16).toString("base64");
            // The stand-in for VS Code's API, allowed by the page's CSP through the nonce.
            const shim = `<script nonce="${nonce}">window.posted=[];window.acquireVsCodeApi=()=>({postMessage:(m)=>window.posted.push(m)});</script>`;
            const html = chatHtml({
                cspSource: `http://${req.headers.host}`,
                nonce,
                uri: (...p) => `/${p.join("/")}`
            }).replace("<body>", `<body>${shim}`);
            res.writeHead(200, { "content-type": "text/html" }).end(html);
            return;
        }
        const file = path.join(ROOT, path.normalize(url.pathname));
        if (!file.startsWith(path.join(ROOT, "dist")) && !file.startsWith(path.join(ROOT, "media"))) {
            res.writeHead(404).end();
            return;
        }
        try {
            res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(
                readFileSync(file)
            );
        } catch {
            res.writeHead(404).end();
        }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
});
after(async () => {
    await browser?.close();
    server?.close();
});

const state = (messages: StoredMessage[], over: Partial<ViewState> = {}): ViewState => ({
    chat: { id: "c1", title: "t", createdAt: 1, messages, experts: "auto" },
    history: [{ id: "c1", title: "t", createdAt: 1 }],
    busy: false,
    model: { name: "demo", expertCount: 8, trainedK: 2, demo: true },
    context: { selection: true, currentFile: false, diagnostics: false, workspace: false },
    pendingContext: [],
    ...over
});

async function open(): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(base);
    await page.waitForFunction(() =>
        (window as unknown as { posted: FromWebview[] }).posted.some((m) => m.type === "ready")
    );
    assert.deepEqual(errors, []);
    return page;
}
const send = (page: Page, message: ToWebview) => page.evaluate((m) => window.postMessage(m, "*"), message);
const posted = (page: Page) => page.evaluate(() => (window as unknown as { posted: FromWebview[] }).posted);

describe("chat panel UI", () => {
    test("renders Markdown with highlighted code, and streams chunks into the answer", async () => {
        const page = await open();
        await send(page, {
            type: "state",
            state: state(
                [
                    { role: "user", content: "hi" },
                    { role: "assistant", content: "" }
                ],
                { busy: true }
            )
        });
        await send(page, { type: "chunk", text: "Use **map**:\n\n```ts\nconst y = xs.map((x) => x * 2);\n" });
        await send(page, { type: "chunk", text: "```\n" });
        await page.waitForSelector(".code-block code .hljs-keyword");
        assert.equal(await page.textContent(".message.assistant strong"), "map");
        assert.equal(await page.isVisible("#stop"), true, "Stop shows while busy");
        await page.close();
    });

    test("the expert heatmap fills in as routed chunks stream, and starts empty with the next answer", async () => {
        const page = await open();
        await send(page, {
            type: "state",
            state: state(
                [
                    { role: "user", content: "hi" },
                    { role: "assistant", content: "" }
                ],
                { busy: true }
            )
        });
        assert.equal(await page.isVisible("#routing"), false, "no routing yet: no map");
        await send(page, {
            type: "chunk",
            text: "a",
            routing: {
                expertCount: 8,
                layers: [
                    [0, 2, 0, 0, 0, 0, 0, 0],
                    [0, 0, 0, 1, 0, 0, 0, 1]
                ]
            }
        });
        await send(page, {
            type: "chunk",
            text: "b",
            routing: {
                expertCount: 8,
                layers: [
                    [0, 1, 0, 0, 0, 0, 0, 1],
                    [0, 0, 0, 2, 0, 0, 0, 0]
                ]
            }
        });
        await page.click("#routing summary");
        await page.waitForFunction(() =>
            /layer 1: expert 3 \(3\)/.test(document.querySelector("#routing-map")?.getAttribute("aria-label") ?? "")
        );
        assert.match(
            (await page.getAttribute("#routing-map", "aria-label"))!,
            /^layer 0: expert 1 \(3\), expert 7 \(1\); layer 1: expert 3 \(3\), expert 7 \(1\)$/
        );
        // the busiest cell is drawn darker than an unused one
        // (no named functions inside evaluate: tsx would wrap them in a helper the page lacks)
        const [busy, unused] = await page.evaluate(() => {
            const canvas = document.querySelector<HTMLCanvasElement>("#routing-map")!;
            const cell = canvas.width / 8,
                g = canvas.getContext("2d")!;
            return [1, 4].map((e) => [...g.getImageData(e * cell + 1, 1, 1, 1).data]);
        });
        assert.notDeepEqual(busy, unused);
        assert.match((await page.textContent("#routing-legend")) ?? "", /2 MoE layers; columns: 8 experts/);
        await send(page, {
            type: "state",
            state: state([
                { role: "user", content: "hi" },
                { role: "assistant", content: "ab" }
            ])
        });
        await send(page, {
            type: "state",
            state: state(
                [
                    { role: "user", content: "again" },
                    { role: "assistant", content: "" }
                ],
                { busy: true }
            )
        });
        assert.equal(await page.isVisible("#routing"), false, "a new answer starts without the old map");
        await page.close();
    });

    test("code-block buttons send the raw code; Enter sends; Escape stops", async () => {
        const page = await open();
        const code = "if (a < b && c > d) {\n  run();\n}";
        await send(page, {
            type: "state",
            state: state([
                { role: "user", content: "q" },
                { role: "assistant", content: "```js\n" + code + "\n```" }
            ])
        });
        for (const action of ["copy", "insert", "apply"]) await page.click(`.code-action[data-action=${action}]`);
        await page.fill("#input", "next question");
        await page.press("#input", "Enter");
        await send(page, { type: "state", state: state([], { busy: true }) });
        await page.waitForSelector("#stop:not([hidden])");
        await page.keyboard.press("Escape");
        const messages = await posted(page);
        assert.deepEqual(
            messages.filter((m) => m.type === "copyCode" || m.type === "insertCode"),
            [
                { type: "copyCode", code: code + "\n" },
                { type: "insertCode", code: code + "\n" }
            ]
        );
        assert.deepEqual(
            messages.find((m) => m.type === "applyCode"),
            { type: "applyCode", code: code + "\n", language: "js" }
        );
        assert.ok(
            messages.some((m) => m.type === "send" && m.text === "next question"),
            JSON.stringify(messages)
        );
        assert.ok(messages.some((m) => m.type === "stop"));
        await page.close();
    });

    test("hostile model output is shown as text and runs nothing", async () => {
        const page = await open();
        const hostile = [
            "<script>window.pwned = 1</script>",
            '<img src=x onerror="window.pwned = 2">',
            "[click me](javascript:window.pwned=3)",
            '<a href="javascript:window.pwned=4">link</a>',
            '<div onmouseover="window.pwned=5">hover</div>',
            '<iframe src="javascript:window.pwned=6"></iframe>',
            "![remote](http://127.0.0.1:9/x.png)",
            '```html\n<script>window.pwned = 7</script><b onclick="window.pwned=8">x</b>\n```'
        ].join("\n\n");
        await send(page, {
            type: "state",
            state: state([
                { role: "user", content: '<b onclick="window.pwned=9">me</b>' },
                { role: "assistant", content: hostile }
            ])
        });
        await page.waitForSelector(".message.assistant .code-block");
        await page.hover(".message.assistant");
        await page.click(".message.assistant a", { timeout: 2000 }).catch(() => undefined);
        await page.click(".message.user .content");
        const result = await page.evaluate(() => {
            const messages = document.querySelector("#messages")!;
            const all = [...messages.querySelectorAll("*")];
            return {
                pwned: (window as unknown as { pwned?: number }).pwned,
                scripts: messages.querySelectorAll("script, iframe, img, object, embed").length,
                handlers: all.filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length,
                badLinks: [...messages.querySelectorAll("a")].filter((a) =>
                    /^javascript:/i.test(a.getAttribute("href") ?? "")
                ).length,
                text: messages.textContent
            };
        });
        assert.equal(result.pwned, undefined, "no payload ran");
        assert.equal(result.scripts, 0, "no script, frame or image elements");
        assert.equal(result.handlers, 0, "no event-handler attributes");
        assert.equal(result.badLinks, 0, "no javascript: links");
        assert.match(result.text!, /<script>window\.pwned = 1<\/script>/, "HTML is shown as text");
        assert.match(result.text!, /<script>window\.pwned = 7<\/script>/, "HTML in code blocks is shown as code");
        await page.close();
    });

    test("interrupted answers say so; the expert choice lists the model's experts", async () => {
        const page = await open();
        await send(page, {
            type: "state",
            state: state([
                { role: "user", content: "q" },
                { role: "assistant", content: "partial", interrupted: "server-stopped" }
            ])
        });
        assert.match((await page.textContent(".interrupted"))!, /server stopped/);
        assert.equal(await page.locator("#experts option").count(), 9, "auto + 1..8");
        await page.selectOption("#experts", "1");
        assert.ok((await posted(page)).some((m) => m.type === "setExperts" && m.experts === 1));
        await send(page, {
            type: "state",
            state: state([
                { role: "user", content: "q" },
                { role: "assistant", content: "a a a", interrupted: "repeating" }
            ])
        });
        assert.match((await page.textContent(".interrupted"))!, /^Stopped: repeating/);
        await page.close();
    });

    test("on the demo model, one line says what it is, with Choose Model…; not on another model", async () => {
        const page = await open();
        await send(page, { type: "state", state: state([]) });
        assert.match((await page.textContent("#demo"))!, /tiny model that shows how the panel works, not advice/);
        await page.click("#choose-model");
        assert.ok((await posted(page)).some((m) => m.type === "chooseModel"));
        await send(page, {
            type: "state",
            state: state([], { model: { name: "Qwen3", expertCount: 128, trainedK: 8, demo: false } })
        });
        // the state message renders on the page's next turn: wait for it (fails if the line stays)
        await page.locator("#demo").waitFor({ state: "hidden", timeout: 5000 });
        await page.close();
    });
});
