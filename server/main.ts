/**
 * The MoE Pilot language server. Any LSP client can start it:
 *
 *   node dist/server.js --stdio
 *
 * This file only wires things together: the connection, the open documents (incremental sync),
 * the settings, and the features (engine, completion, next edits, chat, models, code actions), each in the
 * folder named after it.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
    type ClientCapabilities,
    createConnection,
    DidChangeConfigurationNotification,
    ProposedFeatures,
    type ServerCapabilities,
    TextDocuments,
    TextDocumentSyncKind
} from "vscode-languageserver/node";
import { DocumentsFeature } from "./documents/DocumentsFeature";
import { safeTextDocument } from "./documents/safeDocuments";
import { CodeActionFeature } from "./actions/CodeActionFeature";
import { ChatFeature } from "./chat/ChatFeature";
import { CompletionFeature } from "./completion/CompletionFeature";
import { ModelsFeature } from "./models/ModelsFeature";
import { EditHistory } from "./nextEdit/editHistory";
import { NextEditFeature } from "./nextEdit/NextEditFeature";
import { Engine } from "./engine/Engine";
import { EngineFeature } from "./engine/EngineFeature";
import { errorMessage } from "./errors";
import type { Feature } from "./feature";
import { createLogger, tellUser } from "./log";
import type { InitializationOptions, Settings } from "./protocol";
import { DEFAULT_SETTINGS, parseSettings } from "./settings/settings";
import { WorkspaceFeature } from "./workspace/WorkspaceFeature";

const SERVER_VERSION = "0.1.0";
/** dist/server.js (or server/main.ts under a test runner) sits one folder below the extension root. */
const DEFAULT_EXTENSION_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const connection = createConnection(ProposedFeatures.all);
// Every change is recorded as it is applied: the edit history next-edit suggestions read.
const history = new EditHistory();
const documents = new TextDocuments(safeTextDocument((before, change) => history.record(before, change)));
const log = createLogger({
    debug: (m) => connection.console.debug(m),
    info: (m) => connection.console.info(m),
    warn: (m) => connection.console.warn(m),
    error: (m) => connection.console.error(m)
});

let settings: Settings = DEFAULT_SETTINGS;
let extensionRoot = DEFAULT_EXTENSION_ROOT;
let pullConfiguration = false;
let registerConfigurationChanges = false;

const engineCore = new Engine(log.tagged("engine"));
const engine = new EngineFeature(
    connection,
    engineCore,
    log.tagged("engine"),
    () => settings,
    () => extensionRoot
);
const workspace = new WorkspaceFeature(
    connection,
    documents,
    engineCore.lane,
    () => engine.backend,
    log.tagged("workspace"),
    () => settings
);
const completion = new CompletionFeature(
    connection,
    documents,
    engine,
    workspace,
    log.tagged("completion"),
    () => settings
);
const nextEdit = new NextEditFeature(
    connection,
    documents,
    engine,
    workspace,
    history,
    log.tagged("nextEdit"),
    () => settings
);
const chat = new ChatFeature(connection, engine, workspace, log.tagged("chat"), () => settings);
const models = new ModelsFeature(connection, engine, log.tagged("models"), () => settings);
const features: Feature[] = [
    new DocumentsFeature(connection, documents),
    engine,
    workspace,
    completion,
    nextEdit,
    chat,
    models,
    new CodeActionFeature(connection)
];

function applySettings(raw: unknown, base: Settings, source: string) {
    const parsed = parseSettings(raw, base);
    for (const p of parsed.problems) {
        const message = `MoE Pilot setting ${p.key} (${source}) ${p.message}`;
        log.warn(message);
        tellUser(connection, "warning", message);
    }
    const previous = settings;
    settings = parsed.settings;
    return previous;
}

/** Reads the client's settings; returns the ones they replaced (undefined when nothing was read). */
async function pullSettings(): Promise<Settings | undefined> {
    if (!pullConfiguration) return undefined;
    try {
        const raw: unknown = await connection.workspace.getConfiguration({ section: "moePilot" });
        return applySettings(raw, settings, "workspace/configuration");
    } catch (e: unknown) {
        log.warn(`could not read settings: ${errorMessage(e)}`);
        return undefined;
    }
}

connection.onInitialize((params) => {
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    if (typeof init.extensionRoot === "string" && init.extensionRoot !== "") extensionRoot = init.extensionRoot;
    applySettings(init.settings, DEFAULT_SETTINGS, "initializationOptions");
    engineCore.setApiKey(init.remoteApiKey);
    const capabilities: ClientCapabilities = params.capabilities;
    pullConfiguration = capabilities.workspace?.configuration === true;
    registerConfigurationChanges = capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;

    let serverCapabilities: ServerCapabilities = { textDocumentSync: TextDocumentSyncKind.Incremental };
    for (const feature of features)
        serverCapabilities = { ...serverCapabilities, ...feature.initialize(capabilities, params) };
    return { capabilities: serverCapabilities, serverInfo: { name: "moe-pilot", version: SERVER_VERSION } };
});

connection.onInitialized(async () => {
    if (registerConfigurationChanges)
        // files.exclude too: the workspace index honours it.
        await connection.client.register(DidChangeConfigurationNotification.type, {
            section: ["moePilot", "files.exclude"]
        });
    await pullSettings();
    for (const feature of features) await feature.initialized?.();
    await engine.load();
});

connection.onDidChangeConfiguration(async (change) => {
    const previous = pullConfiguration
        ? await pullSettings()
        : applySettings(
              (change.settings as { moePilot?: unknown } | undefined)?.moePilot,
              settings,
              "didChangeConfiguration"
          );
    if (!previous) return;
    await workspace.settingsChanged(previous, settings);
    await engine.settingsChanged(previous, settings);
});

connection.onShutdown(async () => {
    for (const feature of features) await feature.shutdown?.();
});

// A bug in one request must not take the server (and every open editor's completions) down.
process.on("unhandledRejection", (reason) => log.error(`unhandled rejection: ${errorMessage(reason)}`));
process.on("uncaughtException", (error) => log.error(`uncaught exception: ${error.stack ?? error.message}`));

documents.listen(connection);
connection.listen();
