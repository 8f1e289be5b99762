/**
 * `moePilot/chat/send`: a chat answer, streamed as `$/progress` partial results.
 *
 *   validate → the backend's chat session for the requested expert count → fit the conversation
 *   to its context window (fitConversation.ts) → the session answers: locally, rendered with the
 *   model's chat template and generated on the compute lane at chat priority, yielding to inline
 *   completions between tokens (engine/localChat.ts, generateChat.ts); remotely, streamed from
 *   `/v1/chat/completions`
 *
 * A cancelled answer is not an error: it returns what was streamed, marked `cancelled`.
 */
import {
    type CancellationToken,
    type ClientCapabilities,
    type Connection,
    LSPErrorCodes,
    ResponseError,
    type ResultProgressReporter,
    type ServerCapabilities
} from "vscode-languageserver";
import type { ChatSession } from "../backend/Backend";
import { type EngineFeature, LOAD_WAIT_MS } from "../engine/EngineFeature";
import { errorMessage, isAbort } from "../errors";
import type { Feature } from "../feature";
import { type Logger, OnceNotice } from "../log";
import {
    type ChatAttachment,
    type ChatChunk,
    type ChatParams,
    type ChatReference,
    ChatRequest,
    type ChatResult,
    type Settings
} from "../protocol";
import type { WorkspaceFeature } from "../workspace/WorkspaceFeature";
import { ChatTooLongError, fitConversation } from "./fitConversation";
import { describeSampling, samplingFor } from "./sampling";

export const CHAT_DEFAULTS = {
    maxTokens: 512,
    maxTokensLimit: 4096,
    systemPrompt:
        "You are MoE Pilot, a coding assistant running on the user's own machine. Answer briefly and precisely. Put code in fenced code blocks with the language name."
} as const;

export class ChatFeature implements Feature {
    private readonly warnings: OnceNotice;

    constructor(
        private readonly connection: Connection,
        private readonly engine: EngineFeature,
        private readonly workspace: WorkspaceFeature,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {
        this.warnings = new OnceNotice(connection, log, "warning");
    }

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
        this.connection.onRequest(ChatRequest.type, (params, token) =>
            this.answer(
                params,
                token,
                this.connection.languages.attachPartialResultProgress(ChatRequest.partialResult, params)
            )
        );
        return {};
    }

    async answer(
        params: ChatParams,
        token: CancellationToken,
        progress: ResultProgressReporter<ChatChunk> | undefined
    ): Promise<ChatResult | ResponseError<void>> {
        const problem = validate(params);
        if (problem) return new ResponseError(LSPErrorCodes.RequestFailed, problem);
        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        const maxTokens = Math.min(params.maxTokens ?? CHAT_DEFAULTS.maxTokens, CHAT_DEFAULTS.maxTokensLimit);
        let streamed = "";
        let session: ChatSession | undefined;
        try {
            // A message sent while the model loads waits for it; one that cannot be answered says why.
            const backend = await this.engine.whenReady(controller.signal);
            if (!backend) {
                const { state, message } = this.engine.current;
                return new ResponseError(
                    LSPErrorCodes.RequestFailed,
                    state === "error"
                        ? `The model could not be loaded: ${message ?? "unknown error"}`
                        : `The model is still loading after ${LOAD_WAIT_MS / 1000} s; ask again when the status bar says it is ready.`
                );
            }
            // The conversation's own choice, else the chat workload's setting.
            const own = params.k !== undefined && params.k !== "auto";
            const opened = await backend.openChat(
                own ? params.k! : this.getSettings().chat.experts,
                own ? "This chat's expert count" : "moePilot.chat.experts"
            );
            for (const warning of opened.warnings) this.warnings.tell(warning);
            session = opened.session;
            // The answer keeps at most a quarter of the context, so a small-context model still has room for the question and its code.
            const answerTokens = Math.min(maxTokens, Math.floor(session.contextSize / 4));
            const retrieved = params.workspace ? await this.retrieve(params, controller.signal) : [];
            const fitted = fitConversation(
                CHAT_DEFAULTS.systemPrompt,
                params.messages,
                [...(params.attachments ?? []), ...retrieved.map((r) => r.attachment)],
                session.contextSize - answerTokens - 1,
                (turns) => session!.countTokens(turns)
            );
            this.log.debug(
                `chat: k=${session.k}, ${fitted.trimmed.earlierMessages} earlier messages and ${fitted.trimmed.attachments.length} attachments left out`
            );
            const references = retrieved
                .filter((r) => !fitted.trimmed.attachments.includes(r.attachment.label))
                .map((r) => r.reference);
            if (params.workspace) progress?.report({ text: "", references });
            const { sampling: samplingSettings, seed } = this.getSettings().chat;
            const sampling = samplingFor(backend.models.chat ?? backend.models.completion, samplingSettings);
            this.log.debug(`chat sampling: ${describeSampling(sampling)}${seed === "random" ? "" : `, seed ${seed}`}`);
            const answer = await session.answer(fitted.turns, {
                maxTokens: answerTokens,
                signal: controller.signal,
                sampling,
                // node-llama-cpp would seed with the time in whole seconds: two answers in one second would be the same.
                seed: seed === "random" ? Math.floor(Math.random() * 2 ** 31) : seed,
                onChunk: (chunk) => {
                    streamed += chunk.text;
                    progress?.report(chunk);
                }
            });
            if (answer.decodeMeasured && answer.generatedTokens > 1) this.engine.reportSpeed(answer.tokensPerSecond);
            this.log.debug(
                `chat: ${answer.generatedTokens} tokens, ${answer.tokensPerSecond} tokens/s, stop: ${answer.stopReason}`
            );
            return {
                text: answer.text,
                stopReason: answer.stopReason,
                promptTokens: answer.promptTokens,
                generatedTokens: answer.generatedTokens,
                tokensPerSecond: answer.tokensPerSecond,
                k: session.k,
                trimmed: fitted.trimmed,
                references,
                template: session.template
            };
        } catch (e: unknown) {
            if (isAbort(e)) {
                this.log.debug("chat cancelled");
                return {
                    text: streamed,
                    stopReason: "cancelled",
                    promptTokens: 0,
                    generatedTokens: 0,
                    tokensPerSecond: 0,
                    k: session?.k ?? 0,
                    trimmed: { attachments: [], earlierMessages: 0 },
                    references: [],
                    template: session?.template ?? { name: "", fromModel: false }
                };
            }
            if (e instanceof ChatTooLongError) return new ResponseError(LSPErrorCodes.RequestFailed, e.message);
            this.log.error(`chat failed: ${errorMessage(e)}`);
            return new ResponseError(LSPErrorCodes.RequestFailed, `The chat answer failed: ${errorMessage(e)}`);
        } finally {
            subscription.dispose();
        }
    }

    /** The workspace chunks that best answer the last message (and the selection it comes with), as attachments. */
    private async retrieve(
        params: ChatParams,
        signal: AbortSignal
    ): Promise<{ attachment: ChatAttachment; reference: ChatReference }[]> {
        const question = params.messages.at(-1)!.content.replace(/(^|\s)@workspace\b/g, " ");
        const selection = (params.attachments ?? []).find((a) => a.kind === "selection")?.text ?? "";
        const hits = await this.workspace.retrieve(`${question}\n${selection.slice(0, 2000)}`, WORKSPACE_CHUNKS, {
            rerank: this.getSettings().workspace.rerank,
            signal
        });
        return hits.map((hit) => {
            const chunk = this.workspace.toChunk(hit);
            const label = `${chunk.path}:${chunk.startLine + 1}-${chunk.endLine + 1}`;
            return {
                attachment: { kind: "workspace", label, text: chunk.text },
                reference: { label, uri: chunk.uri, startLine: chunk.startLine, endLine: chunk.endLine }
            };
        });
    }
}

/** Chunks `@workspace` attaches to a question, at most. */
const WORKSPACE_CHUNKS = 4;

function validate(params: ChatParams): string | undefined {
    if (!Array.isArray(params?.messages) || params.messages.length === 0) return "A chat needs at least one message.";
    for (const m of params.messages)
        if ((m?.role !== "user" && m?.role !== "assistant") || typeof m.content !== "string")
            return "Each chat message needs a role (user or assistant) and text content.";
    if (params.messages.at(-1)!.role !== "user") return "The last chat message must be the user's.";
    for (const a of params.attachments ?? [])
        if (
            typeof a?.label !== "string" ||
            typeof a.text !== "string" ||
            !["selection", "file", "diagnostics", "workspace"].includes(a.kind)
        )
            return "An attachment needs a kind, a label and text.";
    if (params.k !== undefined && params.k !== "auto" && !(Number.isInteger(params.k) && params.k >= 1))
        return 'k must be "auto" or a whole number from 1.';
    if (params.maxTokens !== undefined && !(Number.isInteger(params.maxTokens) && params.maxTokens >= 1))
        return "maxTokens must be a whole number from 1.";
    if (params.workspace !== undefined && typeof params.workspace !== "boolean")
        return "workspace must be true or false.";
    return undefined;
}
