/**
 * `moePilot/chat/send`: a chat answer, streamed as `$/progress` partial results.
 *
 *   validate → the chat context for the requested expert count → (on the compute lane, at chat
 *   priority) fit the conversation to the context window (contextWindow.ts) → render it with the
 *   model's chat template (node-llama-cpp's chat wrappers; a general default when the model has
 *   none) → generate, yielding to inline completions between tokens (generateChat.ts)
 *
 * A cancelled answer is not an error: it returns what was streamed, marked `cancelled`.
 */
import type { ChatHistoryItem, Token } from "node-llama-cpp";
import {
    type CancellationToken, type ClientCapabilities, type Connection, LSPErrorCodes, ResponseError, type ResultProgressReporter, type ServerCapabilities
} from "vscode-languageserver";
import { Priority } from "../engine/ComputeLane";
import type { ChatBackend } from "../engine/Engine";
import type { EngineFeature } from "../engine/EngineFeature";
import { errorMessage, isAbort } from "../engine/errors";
import type { Feature } from "../feature";
import type { Logger } from "../log";
import { type ChatChunk, type ChatParams, ChatRequest, type ChatResult, type RoutingActivity, type Settings } from "../protocol";
import { activity } from "../routing/RoutingStats";
import { ChatTooLongError, type ChatTurn, fitChat } from "./contextWindow";
import { generateChat } from "./generateChat";
import type { RemoteEngine } from "../remote/RemoteEngine";

export const CHAT_DEFAULTS = {
    maxTokens: 512,
    maxTokensLimit: 4096,
    systemPrompt: "You are MoE Pilot, a coding assistant running on the user's own machine. Answer briefly and precisely. Put code in fenced code blocks with the language name."
} as const;

export class ChatFeature implements Feature {
    constructor(
        private readonly connection: Connection,
        private readonly engine: EngineFeature,
        private readonly log: Logger,
        private readonly getSettings: () => Settings
    ) {}

    initialize(_capabilities: ClientCapabilities): ServerCapabilities {
        this.connection.onRequest(ChatRequest.type, (params, token) =>
            this.answer(params, token, this.connection.languages.attachPartialResultProgress(ChatRequest.partialResult, params)));
        return {};
    }

    async answer(params: ChatParams, token: CancellationToken, progress: ResultProgressReporter<ChatChunk> | undefined): Promise<ChatResult | ResponseError<void>> {
        const problem = validate(params);
        if (problem) return new ResponseError(LSPErrorCodes.RequestFailed, problem);
        if (this.engine.current.state !== "ready") return new ResponseError(LSPErrorCodes.RequestFailed, "The model is not loaded yet.");
        if (this.engine.remote) return this.answerRemote(this.engine.remote, params, token, progress);

        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        const maxTokens = Math.min(params.maxTokens ?? CHAT_DEFAULTS.maxTokens, CHAT_DEFAULTS.maxTokensLimit);
        let streamed = "";
        let backend: ChatBackend | undefined;
        try {
            // The conversation's own choice, else the chat workload's setting.
            const experts = params.experts === undefined || params.experts === "auto" ? this.getSettings().chat.experts : params.experts;
            backend = await this.engine.engine.chat(experts);
            const chat = backend;
            // The answer keeps at most a quarter of the context, so a small-context model still has room for the question and its code.
            const answerTokens = Math.min(maxTokens, Math.floor(chat.contextSize / 4));
            const result = await this.engine.engine.lane.run(Priority.Chat, controller.signal, async (turn) => {
                await chat.enter();
                const fitted = fitChat(CHAT_DEFAULTS.systemPrompt, params.messages, params.attachments ?? [], chat.contextSize - answerTokens - 1,
                    (turns) => render(chat, turns).tokens.length);
                const { tokens, stopTexts } = render(chat, fitted.turns);
                this.log.debug(`chat: prompt of ${tokens.length} tokens, k=${chat.experts}, ${fitted.trimmed.earlierMessages} earlier messages and ${fitted.trimmed.attachments.length} attachments left out`);
                // With the native runtime each piece says which experts its tokens went through (the answer's, not the prompt's).
                const routing = (): RoutingActivity | undefined => {
                    const rows = this.engine.engine.takeRouting("chat", chat.moe).filter((r) => r.pos >= tokens.length);
                    return rows.length > 0 ? activity(rows, chat.model.fileInfo.architectureMetadata.expert_count as number) : undefined;
                };
                const generation = await generateChat({
                    model: chat.model, sequence: chat.sequence, decode: chat.decode, prompt: tokens, stopTexts, maxTokens: answerTokens,
                    signal: controller.signal, turn,
                    onText: (text) => { streamed += text; progress?.report({ text, routing: routing() }); }
                });
                this.engine.engine.takeRouting("chat", chat.moe);
                return { generation, trimmed: fitted.trimmed };
            });
            const { generation } = result;
            const tokensPerSecond = generation.decodeMs > 0 ? Math.round((generation.generatedTokens - 1) / (generation.decodeMs / 1000)) : 0;
            if (generation.generatedTokens > 1) this.engine.reportSpeed(tokensPerSecond);
            this.log.debug(`chat: ${generation.generatedTokens} tokens, ${tokensPerSecond} tokens/s, stop: ${generation.stopReason}`);
            return {
                text: generation.text, stopReason: generation.stopReason, promptTokens: generation.promptTokens,
                generatedTokens: generation.generatedTokens, tokensPerSecond, experts: chat.experts, trimmed: result.trimmed,
                template: { name: chat.chatWrapper.wrapperName, fromModel: chat.templateFromModel }
            };
        } catch (e: unknown) {
            if (isAbort(e)) {
                this.log.debug("chat cancelled");
                return {
                    text: streamed, stopReason: "cancelled", promptTokens: 0, generatedTokens: 0, tokensPerSecond: 0, experts: backend?.experts ?? 0,
                    trimmed: { attachments: [], earlierMessages: 0 },
                    template: { name: backend?.chatWrapper.wrapperName ?? "", fromModel: backend?.templateFromModel ?? false }
                };
            }
            if (e instanceof ChatTooLongError) return new ResponseError(LSPErrorCodes.RequestFailed, e.message);
            this.log.error(`chat failed: ${errorMessage(e)}`);
            return new ResponseError(LSPErrorCodes.RequestFailed, `The chat answer failed: ${errorMessage(e)}`);
        } finally {
            subscription.dispose();
        }
    }

    /** The same conversation policy, sent to the remote engine (which applies its model's chat template) and streamed back. */
    private async answerRemote(remote: RemoteEngine, params: ChatParams, token: CancellationToken, progress: ResultProgressReporter<ChatChunk> | undefined): Promise<ChatResult | ResponseError<void>> {
        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        const started = performance.now();
        try {
            const contextSize = remote.info?.contextSize ?? this.getSettings().contextSize;
            const answerTokens = Math.min(params.maxTokens ?? CHAT_DEFAULTS.maxTokens, CHAT_DEFAULTS.maxTokensLimit, Math.floor(contextSize / 4));
            const fitted = fitChat(CHAT_DEFAULTS.systemPrompt, params.messages, params.attachments ?? [], contextSize - answerTokens - 1,
                (turns) => Math.ceil(turns.reduce((n, t) => n + t.text.length + 8, 0) / REMOTE_CHARS_PER_TOKEN));
            const answer = await remote.chat(fitted.turns.map((t) => ({ role: t.role, content: t.text })), answerTokens, controller.signal, (text) => progress?.report({ text }));
            this.engine.remoteSucceeded();
            const seconds = (performance.now() - started) / 1000;
            return {
                text: answer.text, stopReason: answer.stopReason, promptTokens: answer.promptTokens, generatedTokens: answer.generatedTokens,
                tokensPerSecond: seconds > 0 ? Math.round(answer.generatedTokens / seconds) : 0, experts: 0, trimmed: fitted.trimmed,
                template: { name: `the remote engine's (${remote.info?.model ?? "model"})`, fromModel: true }
            };
        } catch (e: unknown) {
            if (e instanceof ChatTooLongError) return new ResponseError(LSPErrorCodes.RequestFailed, e.message);
            this.log.error(`remote chat failed: ${errorMessage(e)}`);
            return new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(e));
        } finally {
            subscription.dispose();
        }
    }
}

/** Characters per token when only the remote server can count tokens: low, so the estimate errs toward fitting. */
const REMOTE_CHARS_PER_TOKEN = 3;

/** The conversation as prompt tokens, through the model's chat template, ready for the model's turn. */
function render(chat: ChatBackend, turns: ChatTurn[]): { tokens: Token[], stopTexts: string[] } {
    const history: ChatHistoryItem[] = turns.map((t) =>
        t.role === "system" ? { type: "system", text: t.text }
            : t.role === "user" ? { type: "user", text: t.text }
            : { type: "model", response: [t.text] });
    history.push({ type: "model", response: [] });
    const state = chat.chatWrapper.generateContextState({ chatHistory: history });
    const stopTexts = state.stopGenerationTriggers
        .filter((trigger) => trigger.values.every((v) => typeof v === "string"))
        .map((trigger) => trigger.values.join(""))
        .filter((text) => text !== "");
    return { tokens: state.contextText.tokenize(chat.model.tokenizer), stopTexts };
}

function validate(params: ChatParams): string | undefined {
    if (!Array.isArray(params?.messages) || params.messages.length === 0) return "A chat needs at least one message.";
    for (const m of params.messages)
        if ((m?.role !== "user" && m?.role !== "assistant") || typeof m.content !== "string") return "Each chat message needs a role (user or assistant) and text content.";
    if (params.messages.at(-1)!.role !== "user") return "The last chat message must be the user's.";
    for (const a of params.attachments ?? [])
        if (typeof a?.label !== "string" || typeof a.text !== "string" || !["selection", "file", "diagnostics"].includes(a.kind)) return "An attachment needs a kind, a label and text.";
    if (params.experts !== undefined && params.experts !== "auto" && !(Number.isInteger(params.experts) && params.experts >= 1)) return 'experts must be "auto" or a whole number from 1.';
    if (params.maxTokens !== undefined && !(Number.isInteger(params.maxTokens) && params.maxTokens >= 1)) return "maxTokens must be a whole number from 1.";
    return undefined;
}
