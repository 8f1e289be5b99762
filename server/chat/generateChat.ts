/**
 * The chat answer's token loop: like completion's, it reuses the KV cache (a new turn of the
 * same conversation extends the previous prompt), samples as the model recommends (sampling.ts,
 * seeded when asked), and stops within one token
 * of a cancel, at a turn header the model writes itself, or when it loops (answerGuard.ts) — and
 * between tokens it lets a waiting inline completion use the cores first.
 */
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { LaneTurn } from "../engine/ComputeLane";
import { endsGeneration, type TokenDecoder } from "../engine/tokenText";
import { answerCut } from "./answerGuard";
import { type ChatSampling, REPEAT_PENALTY_WINDOW } from "./sampling";
import { LookupPredictor } from "../speculation/LookupPredictor";

type ChatStop = "end-of-turn" | "max-tokens" | "cancelled" | "repeating";

export type ChatGeneration = {
    text: string;
    stopReason: ChatStop;
    promptTokens: number;
    generatedTokens: number;
    decodeMs: number;
};

export async function generateChat(options: {
    model: LlamaModel;
    sequence: LlamaContextSequence;
    decode: TokenDecoder;
    prompt: Token[];
    /** Texts that end the model's turn (from the chat template), cut from the answer. */
    stopTexts: readonly string[];
    /** The model has no chat template (the general format): a role header it writes ends the answer (answerGuard.ts). */
    turnHeaders: boolean;
    /**
     * For a format that interleaves the answer with other messages (harmony.ts): the answer's
     * tokens among those generated, and whether the turn is over; by default, all of them.
     */
    readTurn?: (generated: Token[]) => { answer: Token[]; ended: boolean };
    /** The prompt's trailing space was left for the model to write: not part of the answer. */
    leadingSpace?: boolean;
    /** Whether a token ends the turn; by default, the model's end-of-generation tokens (tokenText.ts `endsGeneration`). */
    endsTurn?: (token: Token) => boolean;
    sampling: ChatSampling;
    /** Fixed: the same prompt gets the same answer. */
    seed?: number;
    maxTokens: number;
    signal: AbortSignal;
    turn: LaneTurn;
    onText: (chunk: string) => void;
}): Promise<ChatGeneration> {
    const { model, sequence, prompt, signal } = options;
    const keep = Math.min(sequence.compareContextTokens(prompt).firstDifferentIndex, prompt.length - 1);
    if (keep < sequence.nextTokenIndex)
        await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);

    const tokens: Token[] = [];
    let sent = 0;
    let stopReason: ChatStop = "end-of-turn";
    let firstAt: number | undefined;
    // A stop text may arrive split over tokens: hold back as many characters as the longest one.
    const holdBack = Math.max(0, ...options.stopTexts.map((s) => s.length));
    let text = "";

    const s = options.sampling;
    const predictor = sequence.tokenPredictor instanceof LookupPredictor ? sequence.tokenPredictor : undefined;
    const evaluation = sequence.evaluate(prompt.slice(keep), {
        temperature: s.temperature,
        topK: s.topK,
        topP: s.topP,
        minP: s.minP,
        seed: options.seed,
        // end-of-generation tokens come through: this loop decides what ends the turn (tokenText.ts)
        yieldEogToken: true,
        // The answer's own last tokens are penalised, not the prompt's (the code it is asked about may repeat).
        repeatPenalty:
            s.repeatPenalty !== 1 || s.presencePenalty !== 0
                ? {
                      // in a verify batch, with the draft tokens before the position sampled
                      punishTokens: () =>
                          (predictor ? [...tokens, ...predictor.draftBeforeSample()] : tokens).slice(
                              -REPEAT_PENALTY_WINDOW
                          ),
                      maxPunishTokens: REPEAT_PENALTY_WINDOW,
                      penalty: s.repeatPenalty,
                      presencePenalty: s.presencePenalty
                  }
                : undefined
    });
    const ends = endsGeneration(model);
    const iterator = evaluation[Symbol.asyncIterator]();
    try {
        while (true) {
            const next = await iterator.next();
            if (next.done) break;
            firstAt ??= performance.now();
            if (signal.aborted) {
                stopReason = "cancelled";
                break;
            }
            const token = next.value;
            if ((options.endsTurn ?? ends)(token)) break;
            tokens.push(token);
            const read = options.readTurn?.(tokens);
            if (read?.ended) break;
            text = options.decode(read ? read.answer : tokens);
            if (options.leadingSpace && text.startsWith(" ")) text = text.slice(1);
            const stopAt = options.stopTexts
                .map((s) => text.indexOf(s))
                .filter((i) => i >= 0)
                .sort((a, b) => a - b)[0];
            if (stopAt !== undefined) {
                text = text.slice(0, stopAt);
                break;
            }
            // a loop in what is not shown (endless reasoning) stops the turn too
            const hiddenLoop = read && answerCut(options.decode(tokens), false)?.reason === "repeating";
            if (hiddenLoop) {
                stopReason = "repeating";
                break;
            }
            const cut = answerCut(text, options.turnHeaders);
            if (cut) {
                // What streamed past the cut is replaced by the result's text (the panel shows the result).
                text = text.slice(0, cut.at);
                if (cut.reason === "repeating") stopReason = "repeating";
                break;
            }
            const safe = text.endsWith("\uFFFD") ? text.length - 1 : text.length - holdBack;
            if (safe > sent) {
                options.onText(text.slice(sent, safe));
                sent = safe;
            }
            if (tokens.length >= options.maxTokens) {
                stopReason = "max-tokens";
                break;
            }
            await options.turn.yieldIfWaited();
            // Cancelled while another job had the lane: stop before evaluating again.
            if (signal.aborted) {
                stopReason = "cancelled";
                break;
            }
        }
    } finally {
        await iterator.return?.();
    }
    if (stopReason !== "cancelled" && text.length > sent) options.onText(text.slice(sent));
    return {
        text: stopReason === "cancelled" ? text.slice(0, sent) : text,
        stopReason,
        promptTokens: prompt.length,
        generatedTokens: tokens.length,
        decodeMs: firstAt === undefined ? 0 : performance.now() - firstAt
    };
}
