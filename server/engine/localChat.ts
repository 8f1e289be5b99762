/**
 * Chat on the local engine: a llama.cpp context per chat expert count (with the native runtime,
 * one context for every count, its k set before each answer), kept between turns so the next
 * turn of a conversation reuses its KV cache; the conversation rendered with the model's chat
 * template (node-llama-cpp's wrappers; a general default when the GGUF has none).
 */
import {
    type ChatHistoryItem,
    type ChatWrapper,
    GeneralChatWrapper,
    HarmonyChatWrapper,
    type LlamaContext,
    type LlamaContextSequence,
    type LlamaModel,
    resolveChatWrapper,
    type Token
} from "node-llama-cpp";
import type { ChatSession } from "../backend/Backend";
import { generateChat } from "../chat/generateChat";
import { harmonyTokens, harmonyTurn } from "../chat/harmony";
import type { ChatTurn } from "../chat/fitConversation";
import type { ModelInspection } from "../models/inspectModel";
import type { RoutingActivity } from "../protocol";
import { activity } from "../routing/RoutingStats";
import type { RoutingTrace } from "../routing/RoutingTrace";
import { sequenceOf, speculationChoice, type SpeculationRequest } from "../speculation/LookupPredictor";
import { type ComputeLane, Priority } from "./ComputeLane";
import type { NativeMoeContext } from "./nativeMoe";
import { createTokenDecoder, endsGeneration, type TokenDecoder } from "./tokenText";

/** A chat's llama.cpp context, shared by the sessions at its expert count(s). */
export type ChatContext = {
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
    decode: TokenDecoder;
    chatWrapper: ChatWrapper;
    /** False when the model has no chat template and a general default is used. */
    templateFromModel: boolean;
    /** The answer among the tokens generated, for a format with channels (gpt-oss's harmony). */
    readTurn?: (generated: Token[]) => { answer: Token[]; ended: boolean };
    /** Whether a token ends the turn, where the model's end-of-generation tokens would say otherwise. */
    endsTurn?: (token: Token) => boolean;
    expertCount: number;
    /** The native runtime's controls (undefined on stock binaries). */
    moe?: NativeMoeContext;
};

export async function createChatContext(
    model: LlamaModel,
    inspection: ModelInspection,
    contextSize: number,
    threads: number,
    moeOf: (context: LlamaContext) => NativeMoeContext | undefined,
    speculation: Pick<SpeculationRequest, "enabled" | "llama">
): Promise<ChatContext> {
    const context = await model.createContext({ contextSize, threads, sequences: 1 });
    const templateFromModel = typeof model.fileInfo.metadata.tokenizer?.chat_template === "string";
    const moe = moeOf(context);
    const chatWrapper = templateFromModel ? resolveChatWrapper(model) : new GeneralChatWrapper();
    const decode = createTokenDecoder(model, inspection.fileInfo);
    const ends = endsGeneration(model);
    const harmony =
        chatWrapper instanceof HarmonyChatWrapper ? harmonyTokens((text) => specialToken(model, text)) : undefined;
    return {
        model,
        context,
        sequence: sequenceOf(
            context,
            speculationChoice({ ...speculation, fileInfo: inspection.fileInfo, expertsUsed: inspection.trainedK }),
            moe
        ),
        decode,
        chatWrapper,
        templateFromModel,
        readTurn: harmony && ((generated) => harmonyTurn(generated, harmony, decode)),
        // Harmony's <|end|> ends a message, not the turn (llama.cpp may still count it as end-of-text).
        endsTurn: harmony && ((token) => token !== harmony.end && ends(token)),
        expertCount: inspection.expertCount,
        moe
    };
}

/** A session at `k` on `chat`'s context: answers run on the compute lane at chat priority. */
export function localChatSession(
    chat: ChatContext,
    k: number,
    lane: ComputeLane,
    trace: RoutingTrace | undefined,
    /** Aborts when the backend unloads: the answer stops within a token, before its context is freed. */
    unloading: AbortSignal
): ChatSession {
    return {
        k,
        contextSize: chat.context.contextSize,
        template: { name: chat.chatWrapper.wrapperName, fromModel: chat.templateFromModel },
        countTokens: (turns) => render(chat, turns).tokens.length,
        answer: (turns, { maxTokens, signal, sampling, seed, onChunk }) =>
            lane.run(Priority.Chat, signal, async (turn) => {
                if (unloading.aborted) throw new ModelUnloadedError();
                // The cached conversation was computed at another count: evaluate it again at this one.
                if (chat.moe && k > 0 && chat.moe.experts !== k) {
                    chat.moe.setExperts(k);
                    await chat.sequence.clearHistory();
                }
                const { tokens, stopTexts, leadingSpace } = render(chat, turns);
                // With the native runtime each piece says which experts its tokens went through (the answer's, not the prompt's).
                const routing = (): RoutingActivity | undefined => {
                    const rows = (trace?.take("chat", chat.moe) ?? []).filter((r) => r.pos >= tokens.length);
                    return rows.length > 0 ? activity(rows, chat.expertCount) : undefined;
                };
                try {
                    const generation = await generateChat({
                        model: chat.model,
                        sequence: chat.sequence,
                        decode: chat.decode,
                        prompt: tokens,
                        stopTexts,
                        turnHeaders: !chat.templateFromModel,
                        readTurn: chat.readTurn,
                        leadingSpace,
                        endsTurn: chat.endsTurn,
                        sampling: sampling.sampling,
                        seed,
                        maxTokens,
                        signal: AbortSignal.any([signal, unloading]),
                        turn,
                        onText: (text) => onChunk({ text, routing: routing() })
                    });
                    // Stopped by a reload, not by the user: say so rather than pass it off as a cancel.
                    if (unloading.aborted && !signal.aborted) throw new ModelUnloadedError();
                    const tokensPerSecond =
                        generation.decodeMs > 0
                            ? Math.round((generation.generatedTokens - 1) / (generation.decodeMs / 1000))
                            : 0;
                    return { ...generation, tokensPerSecond, decodeMeasured: true };
                } finally {
                    trace?.take("chat", chat.moe);
                }
            })
    };
}

/** The conversation as prompt tokens, through the model's chat template, ready for the model's turn. */
function render(chat: ChatContext, turns: ChatTurn[]): { tokens: Token[]; stopTexts: string[]; leadingSpace: boolean } {
    const history: ChatHistoryItem[] = turns.map((t) =>
        t.role === "system"
            ? { type: "system", text: t.text }
            : t.role === "user"
              ? { type: "user", text: t.text }
              : { type: "model", response: [t.text] }
    );
    history.push({ type: "model", response: [] });
    const state = chat.chatWrapper.generateContextState({ chatHistory: history });
    const stopTexts = state.stopGenerationTriggers
        .filter((trigger) => trigger.values.every((v) => typeof v === "string"))
        .map((trigger) => trigger.values.join(""))
        .filter((text) => text !== "");
    const tokens = state.contextText.tokenize(chat.model.tokenizer);
    // A template that writes "Assistant: " + the answer leaves the prompt ending in a lone space
    // (node-llama-cpp renders the model's turn up to its empty answer): a BPE model writes that
    // space as part of its first word, and DeepSeek-Coder-V2 answers garbled after it (its README:
    // no space after "Assistant:"). The model writes the space itself.
    // The answer then begins with that space, which the template writes itself on the next turn.
    const last = tokens.length > 0 ? chat.decode([tokens.at(-1)!]) : "";
    const leadingSpace = last.endsWith(" ");
    if (leadingSpace) tokens.splice(-1, 1, ...chat.model.tokenize(last.slice(0, -1), false));
    return { tokens, stopTexts, leadingSpace };
}

/**
 * The id of a special token by its text, or undefined when the vocabulary has no such single
 * token. Unlike modelFim.ts's, it does not ask llama.cpp whether the token is special: llama.cpp
 * makes harmony's `<|channel|>`, `<|message|>` and `<|start|>` user-defined on load.
 */
function specialToken(model: LlamaModel, text: string): Token | undefined {
    const tokens = model.tokenize(text, true);
    return tokens.length === 1 ? tokens[0] : undefined;
}

/** The model was unloaded (a reload, another model) while the answer waited or ran: ask again. */
export class ModelUnloadedError extends Error {
    override readonly name = "ModelUnloadedError";
    constructor() {
        super("The model was loaded again during this answer; send the message again.");
    }
}
