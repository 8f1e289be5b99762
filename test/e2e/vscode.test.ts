/**
 * End to end in a real VS Code: the packaged extension (VSIX) installed into code-server, driven
 * by Debian's headless Chromium through playwright-core, the way a person drives it. Screenshots
 * of each step go to test-results/e2e/.
 *
 *   npm run test:e2e
 *
 * Desktop VS Code (@vscode/test-electron) cannot be downloaded on these machines; the suite says
 * so and runs in code-server, which is VS Code for the browser with a Node extension host.
 */
import assert from "node:assert/strict";
import { execFileSync, execSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Frame, type Page } from "playwright-core";
import { HubServer } from "../server/fixtures/hubServer";
import { INVOICE } from "../server/fixtures/invoice";
import { CART, checkout } from "../server/fixtures/shoppingCart";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const OUT = path.join(ROOT, "test-results", "e2e");
const PROFILE = path.join(ROOT, ".cache", "e2e-profile");
const WORKSPACE = path.join(ROOT, ".cache", "e2e-workspace");
const PORT = 8731;
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
/** The server's process, found by its path inside the installed extension. */
const SERVER_PROCESS = "moe-pilot.*dist/server.js";

let browser: Browser, page: Page;
/** A model hub on 127.0.0.1 (test/server/fixtures/hubServer.ts) standing in for huggingface.co: it serves the demo model under a registry model's name. */
let hub: HubServer;
const MODELS_DIR = path.join(ROOT, ".cache", "e2e-models");
let step = 0;
const NETWORK_LOG = path.join(OUT, "..", "e2e-network.strace");

/**
 * Every connect() system call of the extension host (where MoE Pilot's client runs) and of the
 * MoE Pilot language server, from now to the end of the suite, as strace sees them: native code
 * and DNS lookups (a UDP connect to the resolver) included. `-f` follows the servers the client
 * starts again after the crash tests. Undefined (and the check skipped) without strace.
 */
function watchConnections(): { stop(): Promise<{ log: string; attachError?: string }> } | undefined {
    const ps = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n");
    const pid = (re: RegExp) =>
        ps
            .find((l) => re.test(l))
            ?.trim()
            .split(/\s+/)[0];
    const host = pid(/bootstrap-fork --type=extensionHost/);
    const server = pid(
        new RegExp(`${PROFILE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/ext/moe-pilot[^ ]*/dist/server\\.js`)
    );
    if (!host || !server) throw new Error(`extension host ${host} or server ${server} not found`);
    let strace: ReturnType<typeof spawn>;
    try {
        execFileSync("strace", ["-V"], { stdio: "ignore" });
        // --seccomp-bpf: only connect() stops the traced processes, so tracing costs them nothing else.
        strace = spawn(
            "strace",
            ["-f", "--seccomp-bpf", "-qq", "-e", "trace=connect", "-o", NETWORK_LOG, "-p", host, "-p", server],
            { stdio: ["ignore", "ignore", "pipe"] }
        );
    } catch {
        return undefined;
    }
    let stderr = "";
    strace.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
    });
    const exited = new Promise((resolve) => strace.once("exit", resolve));
    return {
        stop: async () => {
            // Still running at the end, or it never attached (ptrace not allowed, say).
            if (strace.exitCode !== null)
                return { log: "", attachError: stderr.trim() || `strace exited with ${strace.exitCode}` };
            strace.kill("SIGINT");
            await exited;
            return { log: readFileSync(NETWORK_LOG, "utf8") };
        }
    };
}
let network: ReturnType<typeof watchConnections>;
const shot = async (name: string) =>
    page.screenshot({ path: path.join(OUT, `${String(++step).padStart(2, "0")}-${name}.png`) });
const waitForStatus = (re: RegExp, timeout = 60_000) =>
    page.waitForFunction(
        (source) =>
            [...document.querySelectorAll(".statusbar-item")].some((e) => new RegExp(source).test(e.textContent ?? "")),
        re.source,
        { timeout }
    );
/** The editor's text as shown, without ghost text (an inline suggestion may appear after any typing). */
const editorText = () =>
    page
        .locator(".editor-instance .monaco-editor .view-lines")
        .first()
        .evaluate((lines) => {
            const copy = lines.cloneNode(true) as HTMLElement;
            // A decoration's text (a next-edit proposal's new text) is CSS `::after` content, which innerText leaves out:
            // read it from the editor's own spans (the rules apply there) into the copy's.
            const spans = lines.querySelectorAll("span");
            const copies = copy.querySelectorAll("span");
            spans.forEach((span, i) => {
                const content = getComputedStyle(span, "::after").content;
                if (content.startsWith('"')) copies[i]!.append(content.slice(1, -1).replace(/\\(.)/g, "$1"));
            });
            for (const ghost of copy.querySelectorAll("[class*='ghost-text']")) ghost.remove();
            document.body.appendChild(copy); // innerText needs a rendered node
            const text = copy.innerText;
            copy.remove();
            return text.replace(/\u00a0/g, " ");
        });

/** The chat webview's frame, once its script runs and the extension's state has arrived (the expert choice is filled). */
async function chatFrame(): Promise<Frame> {
    for (let i = 0; i < 150; i++) {
        for (const f of page.frames())
            if (
                await f
                    .locator("#experts option")
                    .count()
                    .catch(() => 0)
            )
                return f;
        await page.waitForTimeout(200);
    }
    throw new Error("the chat webview did not appear");
}

async function palette(command: string) {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(`>${command}`);
    await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: command }).first().waitFor();
    await page.keyboard.press("Enter");
}

const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

/** Quick Open (Ctrl+P), as a person does: works whichever side bar is showing. */
async function openFile(name: string) {
    // Focus moves (a diff opening, a notification) can close Quick Open as it opens: try again.
    const input = page.locator(".quick-input-widget input");
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press("Control+p");
        try {
            await input.fill(name, { timeout: 5_000 });
            break;
        } catch (e) {
            if (attempt === 3) {
                await shot(`open-${name}-failed`);
                throw e;
            }
            await page.keyboard.press("Escape");
        }
    }
    // The row of the file itself, not of an editor whose title mentions it (a diff, say): move
    // down to it with the keyboard (the list re-renders as results arrive, so no clicking).
    await page
        .locator(".quick-input-list .monaco-list-row")
        .filter({ has: page.locator(".label-name", { hasText: exactly(name) }) })
        .first()
        .waitFor();
    for (let i = 0; i < 20; i++) {
        const focused = await page
            .locator(".quick-input-list .monaco-list-row.focused .label-name")
            .first()
            .innerText()
            .catch(() => "");
        if (focused === name) break;
        await page.keyboard.press("ArrowDown");
    }
    await page.keyboard.press("Enter");
    await page.waitForSelector(`.tabs-container .tab.active[aria-label^="${name}"]`);
}

/** Go to Line (Ctrl+G), then wait until the status bar says the cursor is there. */
async function goToLine(line: number) {
    // As with Quick Open, a focus move (a toast, a diff closing) can swallow the first try.
    const input = page.locator(".quick-input-widget input");
    for (let attempt = 1; ; attempt++) {
        try {
            await page.keyboard.press("Control+g");
            await input.fill(`:${line}`, { timeout: 5_000 });
            await page.keyboard.press("Enter");
            await page.waitForFunction(
                (n) =>
                    [...document.querySelectorAll(".statusbar-item")].some((e) =>
                        new RegExp(`^Ln ${n},`).test(e.textContent ?? "")
                    ),
                line,
                { timeout: 5_000 }
            );
            return;
        } catch (e) {
            if (attempt === 3) {
                await shot(`line-${line}-failed`);
                throw e;
            }
            await page.keyboard.press("Escape");
        }
    }
}

const PRICING = [
    "/** The discount a loyal customer gets, as a fraction of the price. */",
    "export function loyaltyDiscount(years: number): number {",
    "    return Math.min(0.25, years * 0.05);",
    "}",
    "",
    "export function discountedPrice(price: number, years: number): number {",
    "    return price * (1 - loyaltyDiscount(years));",
    "}",
    ""
].join("\n");

describe("MoE Pilot in a real VS Code (code-server)", { timeout: 15 * 60_000 }, () => {
    before(async () => {
        rmSync(OUT, { recursive: true, force: true });
        mkdirSync(OUT, { recursive: true });
        execFileSync("bash", [path.join(ROOT, "scripts/code-server.sh"), "install"], { stdio: "inherit" });
        execFileSync("npm", ["run", "--silent", "package"], { cwd: ROOT, stdio: "inherit" });
        rmSync(WORKSPACE, { recursive: true, force: true });
        cpSync(path.join(ROOT, "demo", "workspace"), WORKSPACE, { recursive: true });
        // A file no test opens: the workspace index finds it for @workspace.
        writeFileSync(path.join(WORKSPACE, "pricing.ts"), PRICING);
        writeFileSync(path.join(WORKSPACE, "cart.ts"), CART);
        // A class in a file no test opens, and a file that calls it: a completion after `cart.` names its method.
        writeFileSync(path.join(WORKSPACE, "checkout.ts"), checkout("    "));
        // A variable to rename at its declaration: next-edit suggestions follow it to its uses.
        writeFileSync(path.join(WORKSPACE, "invoice.ts"), INVOICE);
        execFileSync("bash", [path.join(ROOT, "scripts/code-server.sh"), "start", String(PORT), PROFILE, WORKSPACE], {
            stdio: "inherit"
        });
        // The user's settings point downloads at the local hub (a mirror, as a company proxy would be) and a fresh folder.
        hub = await HubServer.start([
            {
                user: "unsloth",
                repo: "Qwen3-Coder-30B-A3B-Instruct-GGUF",
                name: "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf",
                source: path.join(ROOT, "models", "embedded", "moe-pilot-demo.gguf")
            }
        ]);
        rmSync(MODELS_DIR, { recursive: true, force: true });
        // Machine-scoped settings: in a remote window (code-server) VS Code reads them from the machine's settings file.
        mkdirSync(path.join(PROFILE, "ud", "Machine"), { recursive: true });
        writeFileSync(
            path.join(PROFILE, "ud", "Machine", "settings.json"),
            JSON.stringify(
                {
                    "moePilot.models.huggingFaceEndpoint": hub.endpoint,
                    "moePilot.models.directory": MODELS_DIR,
                    // Seeded, so a sampled chat answer is the same on every run.
                    "moePilot.chat.seed": 1234
                },
                null,
                2
            )
        );
        const home = path.join(PROFILE, "chrome-home");
        browser = await chromium.launch({
            executablePath: "/usr/bin/chromium",
            headless: true,
            args: CHROMIUM_ARGS,
            env: { ...process.env, HOME: home, XDG_CONFIG_HOME: `${home}/.config`, XDG_CACHE_HOME: `${home}/.cache` }
        });
        page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
        await page.goto(`http://127.0.0.1:${PORT}/?folder=${WORKSPACE}`);
        await page.waitForSelector(".explorer-folders-view .monaco-list-row", { timeout: 120_000 });
        await waitForStatus(/k≤2\/8/);
        network = watchConnections();
        await shot("ready");
    });

    after(async () => {
        await browser?.close();
        await hub?.close();
        try {
            execSync(`kill $(cat ${PROFILE}/code-server.pid)`);
        } catch {
            /* already gone */
        }
    });

    test("desktop VS Code (@vscode/test-electron)", (t) => {
        t.skip(
            "not run: no desktop VS Code build can be downloaded on this machine (no internet but the npm registry); the steps below run in code-server, VS Code for the browser"
        );
    });

    test("typing shows a ghost-text completion from the embedded model; Tab accepts it", async () => {
        await openFile("shapes.ts");
        await goToLine(14);
        await page.keyboard.press("End");
        await page.keyboard.type("const n = points.length;", { delay: 50 });
        await page.keyboard.press("Enter");
        await page.waitForSelector('.monaco-editor [class*="ghost-text"]', { timeout: 60_000 });
        await shot("ghost-text");
        const before = await editorText();
        await page.keyboard.press("Tab");
        await page.waitForFunction(
            (n) =>
                (document.querySelector(".editor-instance .monaco-editor .view-lines") as HTMLElement).innerText
                    .length > n,
            before.length
        );
        await shot("accepted");
    });

    test("after `cart.` the completion names the method of a class in a file never opened", async () => {
        await openFile("checkout.ts");
        await goToLine(4);
        await page.keyboard.press("End");
        await page.keyboard.type("cart.", { delay: 50 });
        const ghost = page.locator('.monaco-editor [class*="ghost-text"]').filter({ hasText: "addLineItem" });
        await ghost.first().waitFor({ timeout: 60_000 });
        await shot("member-completion");
        await page.keyboard.press("Escape");
        // The next steps work on shapes.ts.
        await openFile("shapes.ts");
    });

    test("a rename at a declaration: the next-edit suggestion shows at a use below; Tab, Tab renames it; Escape dismisses the next", async () => {
        await openFile("invoice.ts");
        await goToLine(2);
        // `    let subtotal = 0;`: Home goes to `let`; the word after it is selected and typed over.
        await page.keyboard.press("Home");
        for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowRight");
        await page.keyboard.press("Control+Shift+ArrowRight");
        await page.keyboard.type("net", { delay: 50 });
        // The proposal: the old name struck through and the new one after it, on a line below.
        const proposed = /subtotal\s*net/;
        for (let i = 0; i < 300 && !proposed.test(await editorText()); i++) await page.waitForTimeout(100);
        await shot("next-edit-proposed");
        const shown = await editorText();
        assert.match(shown, proposed, `a proposal is shown: ${shown}`);
        await page.keyboard.press("Tab");
        await page.waitForFunction(
            () => [...document.querySelectorAll(".statusbar-item")].some((e) => /^Ln [3-9],/.test(e.textContent ?? "")),
            undefined,
            { timeout: 10_000 }
        );
        await page.keyboard.press("Tab");
        for (let i = 0; i < 100 && !/^\s+net \+= line/m.test(await editorText()); i++) await page.waitForTimeout(100);
        await shot("next-edit-applied");
        assert.match(await editorText(), /^\s+net \+= line\.price/m, "the use is renamed");
        // The next use's proposal follows at once; Escape dismisses it.
        for (let i = 0; i < 100 && !proposed.test(await editorText()); i++) await page.waitForTimeout(100);
        if (proposed.test(await editorText())) {
            await page.keyboard.press("Escape");
            for (let i = 0; i < 50 && proposed.test(await editorText()); i++) await page.waitForTimeout(100);
            assert.doesNotMatch(await editorText(), proposed, "Escape dismissed the proposal");
        } else assert.fail("no proposal followed the applied one");
        // The next steps work on shapes.ts.
        await openFile("shapes.ts");
    });

    test("the chat panel streams answers about the selection; a code block applies through the diff", async () => {
        await page.keyboard.press("Control+a");
        await page
            .locator(
                '.activitybar .action-item a[aria-label^="MoE Pilot"], .activitybar .action-item[aria-label^="MoE Pilot"]'
            )
            .first()
            .click();
        const frame = await chatFrame();
        await frame.locator("#input").fill("What does this code do?");
        await frame.locator("#input").press("Enter");
        await frame.locator(".message.user").filter({ hasText: "What does this code do?" }).waitFor();
        await frame.locator(".message.assistant .content").first().waitFor();
        await frame.locator("#send:not([hidden])").waitFor({ timeout: 120_000 });
        const answer = await frame.locator(".message.assistant .content").last().innerText();
        assert.ok(answer.trim().length > 0, "an answer arrived");
        // Sampled (seeded), guarded: no line of the answer four times.
        const lines = new Map<string, number>();
        for (const line of answer.split("\n").map((l) => l.trim()))
            if (line.length >= 8) lines.set(line, (lines.get(line) ?? 0) + 1);
        assert.ok(Math.max(0, ...lines.values()) < 4, `no line repeated four times: ${answer}`);
        // The panel says what the demo model is, with the way to another one.
        assert.match(await frame.locator("#demo").innerText(), /embedded demo model .*not advice/);
        await frame.locator("#choose-model").click();
        await page.locator(".quick-input-widget").filter({ hasText: "Recommended MoE models" }).waitFor();
        await shot("demo-choose-model");
        await page.keyboard.press("Escape");
        assert.match(await frame.locator(".message.user .attachments").last().innerText(), /shapes\.ts:1-/);
        // the packaged extension runs the native MoE runtime: only it reports routing, drawn as the heatmap
        assert.match(
            (await frame.locator("#routing-legend").textContent()) ?? "",
            /Rows: 4 MoE layers; columns: 8 experts/
        );
        await shot("chat");

        // Ask for code, and apply a code block of the answer: a diff first, applied on Accept.
        const answers = await frame.locator(".message.assistant").count();
        await frame.locator("#input").fill("Rewrite this code.");
        await frame.locator("#input").press("Enter");
        await frame.locator(".message.assistant").nth(answers).waitFor();
        await frame.locator("#send:not([hidden])").waitFor({ timeout: 120_000 });
        const before = readFileSync(path.join(WORKSPACE, "shapes.ts"), "utf8");
        await frame.locator(".message.assistant").last().locator('[data-action="apply"]').first().click();
        const toast = page
            .locator(".notifications-toasts .notification-toast")
            .filter({ hasText: /Apply from chat: apply the proposed change to shapes\.ts/ })
            .first();
        await toast.waitFor({ timeout: 30_000 });
        await page
            .locator(".tabs-container .tab.active")
            .filter({ hasText: /shapes\.ts ↔ proposed/ })
            .waitFor();
        await shot("chat-apply-diff");
        const editorBefore = await editorText();
        await toast.locator(".monaco-button").filter({ hasText: "Accept" }).click();
        await page.waitForFunction(
            (text) =>
                (
                    document.querySelector(".editor-instance .monaco-editor .view-lines") as HTMLElement
                ).innerText.replace(/\u00a0/g, " ") !== text,
            editorBefore
        );
        await shot("chat-applied");
        await page.keyboard.press("Control+z");
        assert.equal(
            readFileSync(path.join(WORKSPACE, "shapes.ts"), "utf8"),
            before,
            "nothing is saved without the user"
        );
    });

    test("@workspace attaches the chunk of a file never opened; its reference opens it", async () => {
        const frame = await chatFrame();
        const answers = await frame.locator(".message.assistant").count();
        await frame.locator("#input").fill("@workspace How is the loyalty discount computed?");
        await frame.locator("#input").press("Enter");
        // Once in three runs the Enter went nowhere (focus coming back from the editor after the previous step's
        // undo): the message is still in the box then, and the Send button sends it.
        if ((await frame.locator("#input").inputValue()) !== "") await frame.locator("#send").click();
        await frame.locator(".message.user").filter({ hasText: "loyalty discount" }).waitFor();
        await frame.locator(".message.assistant").nth(answers).waitFor();
        await frame.locator("#send:not([hidden])").waitFor({ timeout: 120_000 });
        const reference = frame
            .locator(".message.assistant")
            .last()
            .locator("button.reference")
            .filter({ hasText: /^pricing\.ts:\d+-\d+$/ });
        await reference.first().waitFor({ timeout: 30_000 });
        await shot("chat-workspace");
        await reference.first().click();
        await page
            .locator(".tabs-container .tab.active")
            .filter({ hasText: "pricing.ts" })
            .waitFor({ timeout: 30_000 });
    });

    test("Explain from the palette asks in the chat panel", async () => {
        await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
        await page.keyboard.press("Control+a");
        await palette("MoE Pilot: Explain Selection");
        const frame = await chatFrame();
        await frame.locator(".message.user").filter({ hasText: "Explain what the selected code does." }).waitFor();
        await frame.locator("#send:not([hidden])").waitFor({ timeout: 120_000 });
        const answers = frame.locator(".message.assistant .content");
        assert.ok((await answers.last().innerText()).trim().length > 0, "an explanation arrived");
        await shot("explain");
    });

    test("Edit with instruction: a diff first; Accept applies it; a file changed meanwhile is refused", async () => {
        const toast = (text: RegExp) =>
            page.locator(".notifications-toasts .notification-toast").filter({ hasText: text }).first();
        const proposeEditOfLine = async () => {
            await openFile("stats.py");
            await goToLine(5);
            await page.keyboard.press("Home");
            await page.keyboard.press("Shift+End");
            await palette("MoE Pilot: Edit Selection with Instruction");
            const input = page.locator(".quick-input-widget input");
            await input.waitFor();
            await input.fill("return the mean as a float");
            await page.keyboard.press("Enter");
            await toast(/apply the proposed change to stats\.py/).waitFor({ timeout: 180_000 });
        };
        const original = readFileSync(path.join(WORKSPACE, "stats.py"), "utf8").split("\n")[4]!;

        await proposeEditOfLine();
        await shot("edit-diff");
        await toast(/apply the proposed change/)
            .locator(".monaco-button")
            .filter({ hasText: "Accept" })
            .click();
        await openFile("stats.py");
        await page.waitForFunction(
            (line) =>
                !(document.querySelector(".editor-instance .monaco-editor .view-lines") as HTMLElement).innerText
                    .replace(/\u00a0/g, " ")
                    .includes(line),
            original.trim()
        );
        await shot("edit-applied");
        await page.keyboard.press("Control+z");

        await proposeEditOfLine();
        await openFile("stats.py");
        await page.keyboard.press("Control+End");
        await page.keyboard.type("# changed meanwhile");
        await page.waitForFunction(() =>
            (document.querySelector(".editor-instance .monaco-editor .view-lines") as HTMLElement).innerText
                .replace(/\u00a0/g, " ")
                .includes("# changed meanwhile")
        );
        const textBefore = await editorText();
        await toast(/apply the proposed change/)
            .locator(".monaco-button")
            .filter({ hasText: "Accept" })
            .click();
        await toast(/changed after this edit was proposed/).waitFor();
        assert.equal(await editorText(), textBefore, "nothing was applied");
        await shot("edit-refused");
    });

    test("changing the completion expert count shows in the status bar", async () => {
        const setExperts = async (label: string) => {
            await palette("MoE Pilot: Set Completion Expert Count");
            await page
                .locator(".quick-input-list .monaco-list-row")
                .filter({ has: page.locator(".label-name", { hasText: exactly(label) }) })
                .first()
                .click();
        };
        await setExperts("1");
        await waitForStatus(/k=1\/8/);
        await shot("experts-1");
        await setExperts("auto");
        await waitForStatus(/k≤2\/8/);
        await shot("experts-auto");
    });

    test("Choose Model lists the registry with what fits here; the model card and the walkthrough are there", async () => {
        await palette("MoE Pilot: Choose Model");
        const rows = page.locator(".quick-input-list .monaco-list-row");
        await rows.filter({ hasText: "Qwen3-Coder-30B-A3B-Instruct" }).first().waitFor();
        const listed = (await rows.allInnerTexts()).join("\n");
        assert.match(listed, /gpt-oss-20b/);
        assert.match(listed, /128 experts \(8 per token\)/);
        assert.match(await page.locator(".quick-input-widget").innerText(), /memory available/);
        await shot("choose-model");
        await page.keyboard.press("Escape");

        await palette("MoE Pilot: Show Model Card");
        let card = "";
        for (let i = 0; i < 100 && !/Fill-in-the-middle/.test(card); i++) {
            for (const frame of page.frames()) {
                const text = await frame
                    .locator("body")
                    .innerText({ timeout: 1000 })
                    .catch(() => "");
                if (/Fill-in-the-middle/.test(text)) card = text;
            }
            if (!/Fill-in-the-middle/.test(card)) await page.waitForTimeout(100);
        }
        assert.match(card, /Model card/);
        assert.match(card, /8 per layer, 2 used per token/);
        assert.match(card, /Expert routing/);
        await shot("model-card");
        // Close the preview (a webview keeps the keyboard): a read-only report, nothing asks to be saved.
        await page.locator(".tabs-container .tab.active").filter({ hasText: "Model card" }).first().click();
        await page.keyboard.press("Control+W");
        await page
            .locator(".tabs-container .tab")
            .filter({ hasText: "Model card" })
            .first()
            .waitFor({ state: "detached" });
        await page.locator(".editor-instance .monaco-editor .view-lines").first().click();

        await palette("Welcome: Open Walkthrough");
        await page
            .locator(".quick-input-list .monaco-list-row")
            .filter({ hasText: "Get started with MoE Pilot" })
            .first()
            .waitFor();
        await page.keyboard.press("Escape");
    });

    test("a model downloads from Choose Model: confirmed first, with progress, then loaded", async () => {
        hub.bytesPerSecond = 2 * 2 ** 20; // ~4 s for the 7 MB file: time to see the progress
        await palette("MoE Pilot: Choose Model");
        await page
            .locator(".quick-input-list .monaco-list-row")
            .filter({ hasText: "Qwen3-Coder-30B-A3B-Instruct" })
            .first()
            .click();
        const dialog = page
            .locator(".monaco-dialog-box")
            .filter({ hasText: /Download Qwen3-Coder-30B-A3B-Instruct \(.*\) from Hugging Face into/ });
        await dialog.waitFor();
        assert.equal(hub.requests.length, 0, "nothing is fetched before the user confirms");
        await shot("download-confirm");
        await dialog.locator(".monaco-button").filter({ hasText: "Download" }).click();
        const progress = page
            .locator(".notifications-toasts .notification-toast")
            .filter({ hasText: /Downloading Qwen3-Coder-30B-A3B-Instruct/ })
            .first();
        await progress.filter({ hasText: /MiB of 7\.1 MiB/ }).waitFor({ timeout: 30_000 });
        await shot("download-progress");
        await page
            .locator(".notifications-toasts .notification-toast")
            .filter({ hasText: /Downloaded Qwen3-Coder-30B-A3B-Instruct \(7\.1 MiB\)/ })
            .first()
            .waitFor({ timeout: 60_000 });
        // A machine-overridable setting: in a remote window VS Code writes it to the machine's settings.
        // VS Code writes the file in place: read while it writes, it is empty or cut short, and is read again.
        const modelPath = () => {
            try {
                const text = readFileSync(path.join(PROFILE, "ud", "Machine", "settings.json"), "utf8");
                return (JSON.parse(text) as Record<string, string>)["moePilot.modelPath"] ?? "";
            } catch {
                return undefined;
            }
        };
        const downloaded = new RegExp(
            `^${MODELS_DIR.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/.*Qwen3-Coder-30B-A3B-Instruct-Q4_K_M\\.gguf$`
        );
        for (let i = 0; i < 100 && !downloaded.test(modelPath() ?? ""); i++) await page.waitForTimeout(100);
        assert.match(modelPath() ?? "", downloaded, "the downloaded file is the model now");
        assert.ok(
            hub.requests.some((r) => /\/resolve\/main\/Qwen3-Coder/.test(r)),
            "fetched from the configured mirror"
        );
        await waitForStatus(/k=2\/8/); // loaded (the mirror served the demo model's bytes under the registry's name)
        // Back to the embedded model for the rest of the suite.
        await palette("MoE Pilot: Choose Model");
        await page
            .locator(".quick-input-list .monaco-list-row")
            .filter({ hasText: "The embedded demo model" })
            .first()
            .click();
        for (let i = 0; i < 100 && modelPath() !== ""; i++) await page.waitForTimeout(100);
        assert.equal(modelPath(), "", "the embedded model again");
        await waitForStatus(/k≤2\/8/);
    });

    test("the server killed mid-answer: the answer is marked interrupted, the chat intact, the server back", async () => {
        const frame = await chatFrame();
        const count = async (f: Frame) => ({
            user: await f.locator(".message.user").count(),
            assistant: await f.locator(".message.assistant").count()
        });
        const before = await count(frame);
        // The demo model answers in well under a second: stop the server first, so the answer is
        // certainly in progress when it dies. No shell: `pkill -f` would match the shell's own command line.
        execFileSync("pkill", ["-STOP", "-f", SERVER_PROCESS]);
        await frame.locator("#input").fill("Write a long Python module with many functions.");
        await frame.locator("#input").press("Enter");
        await frame.locator(".message.assistant").nth(before.assistant).waitFor(); // the answer being written
        execFileSync("pkill", ["-9", "-f", SERVER_PROCESS]);
        await frame
            .locator(".message.assistant")
            .last()
            .locator(".interrupted")
            .filter({ hasText: "Interrupted: the server stopped while answering." })
            .waitFor({ timeout: 30_000 });
        await shot("server-killed");
        await waitForStatus(/k≤2\/8/);
        assert.deepEqual(
            await count(await chatFrame()),
            { user: before.user + 1, assistant: before.assistant + 1 },
            "every earlier message, the question and the interrupted answer are kept"
        );
        await shot("server-back");
    });

    test("a crash loop stops restarting, says so once, and its Restart action brings the server back", async () => {
        const toast = page
            .locator(".notifications-toasts .notification-toast")
            .filter({ hasText: /crashed \d+ times in a few minutes and was not restarted again/ })
            .first();
        const serverGone = () =>
            page.waitForFunction(
                () =>
                    ![...document.querySelectorAll(".statusbar-item")].some((e) => /k≤2\/8/.test(e.textContent ?? "")),
                null,
                { timeout: 10_000 }
            );

        // The first crash comes mid-completion: the server is stopped while the editor asks for ghost text.
        await openFile("stats.py");
        await page.keyboard.press("Control+End");
        execFileSync("pkill", ["-STOP", "-f", SERVER_PROCESS]);
        await page.keyboard.type("\nresult = ");
        await page.waitForTimeout(500); // past the 120 ms debounce: the request is out, unanswered
        execFileSync("pkill", ["-9", "-f", SERVER_PROCESS]);
        await serverGone();
        assert.match(await editorText(), /result = /, "what the user typed is kept");
        for (let kill = 0; kill < 8 && !(await toast.isVisible()); kill++) {
            await waitForStatus(/k≤2\/8/);
            execFileSync("pkill", ["-9", "-f", SERVER_PROCESS]);
            await serverGone();
            // Either the server comes back after the backoff (0.5, 2, 5, 10 s) or the loop is declared.
            await Promise.race([toast.waitFor({ timeout: 30_000 }), waitForStatus(/k≤2\/8/, 30_000)]);
        }
        await toast.waitFor();
        await shot("crash-loop");
        await toast.locator(".monaco-button").filter({ hasText: "Restart" }).click();
        await waitForStatus(/k≤2\/8/);
    });

    test("the extension host and the language server opened no network connection in the whole session", async (t) => {
        if (!network) {
            t.skip("strace is not installed");
            return;
        }
        const { log, attachError } = await network.stop();
        if (attachError) {
            t.skip(`strace could not trace the processes: ${attachError}`);
            return;
        }
        const calls = log.split("\n").filter((l) => /connect\(/.test(l));
        // The restarted servers and the extension host's own local sockets: proof the trace was live.
        assert.ok(calls.length > 0, "strace saw connect() calls");
        // AF_INET/AF_INET6 connections beyond this machine (a DNS lookup shows as one to the resolver).
        const outgoing = calls.filter(
            (l) => /AF_INET6?/.test(l) && !/inet_addr\("127\.|inet_pton\(AF_INET6, "(::1|::ffff:127\.)/.test(l)
        );
        assert.deepEqual(outgoing, [], "no connection beyond this machine");
        t.diagnostic(
            `e2e network: ${calls.length} connect() calls traced in the extension host and the language server, ${calls.filter((l) => /AF_INET/.test(l)).length} over IP, all to 127.0.0.1`
        );
    });
});

describe("an untrusted workspace (Restricted Mode)", { timeout: 5 * 60_000 }, () => {
    const profile = path.join(ROOT, ".cache", "e2e-trust-profile");
    const workspace = path.join(ROOT, ".cache", "e2e-trust-workspace");
    const port = PORT + 1;
    let trustBrowser: Browser;
    let trustPage: Page;

    before(async () => {
        rmSync(workspace, { recursive: true, force: true });
        cpSync(path.join(ROOT, "demo", "workspace"), workspace, { recursive: true });
        // A cloned repository's settings try to choose the model: a file of its own.
        writeFileSync(path.join(workspace, "evil.gguf"), "not a model: a file the repository chose\n");
        mkdirSync(path.join(workspace, ".vscode"), { recursive: true });
        writeFileSync(
            path.join(workspace, ".vscode", "settings.json"),
            JSON.stringify({ "moePilot.modelPath": path.join(workspace, "evil.gguf") })
        );
        execFileSync(
            "bash",
            [path.join(ROOT, "scripts/code-server.sh"), "start", String(port), profile, workspace, "trust"],
            { stdio: "inherit" }
        );
        const home = path.join(profile, "chrome-home");
        trustBrowser = await chromium.launch({
            executablePath: "/usr/bin/chromium",
            headless: true,
            args: CHROMIUM_ARGS,
            env: { ...process.env, HOME: home, XDG_CONFIG_HOME: `${home}/.config`, XDG_CACHE_HOME: `${home}/.cache` }
        });
        trustPage = await (await trustBrowser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
        await trustPage.goto(`http://127.0.0.1:${port}/?folder=${workspace}`);
    });
    after(async () => {
        await trustBrowser?.close();
        try {
            execSync(`kill $(cat ${profile}/code-server.pid)`);
        } catch {
            /* already gone */
        }
    });

    test("the workspace's model setting is ignored and the user is told; trusting the workspace applies it", async () => {
        // code-server opens the folder in Restricted Mode.
        await trustPage
            .locator(".statusbar-item")
            .filter({ hasText: "Restricted Mode" })
            .first()
            .waitFor({ timeout: 120_000 });
        const toast = trustPage
            .locator(".notifications-toasts .notification-toast")
            .filter({ hasText: /this workspace is not trusted, so its settings moePilot\.modelPath are ignored/ })
            .first();
        await toast.waitFor({ timeout: 60_000 });
        // The user's settings apply: the embedded model, not the repository's file.
        await trustPage.waitForFunction(
            () => [...document.querySelectorAll(".statusbar-item")].some((e) => /k≤2\/8/.test(e.textContent ?? "")),
            null,
            { timeout: 60_000 }
        );
        await trustPage.screenshot({ path: path.join(OUT, "restricted-mode.png") });

        await toast.locator(".monaco-button").filter({ hasText: "Manage Workspace Trust" }).click();
        await trustPage.screenshot({ path: path.join(OUT, "trust-editor.png") });
        await trustPage
            .locator(".workspace-trust-editor .monaco-button")
            .filter({ hasText: /^Trust/ })
            .first()
            .click({ timeout: 30_000 });
        // Trusted: the workspace's setting applies now, and that file is refused for what it is.
        await trustPage
            .locator(".notifications-toasts .notification-toast")
            .filter({ hasText: /evil\.gguf is not a GGUF model file/ })
            .first()
            .waitFor({ timeout: 60_000 });
        await trustPage.screenshot({ path: path.join(OUT, "trusted.png") });
    });
});
