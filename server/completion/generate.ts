/**
 * Stage 3: run the prompt through the model, reusing the KV cache of the previous request.
 *
 * The completion sequence keeps the tokens of the last prompt (and its generated tokens). A new
 * prompt is compared with them: the common beginning stays, the rest is erased, and only the new
 * tokens are evaluated — with an SPM prompt, a typed character costs a token or two of prefill.
 * Greedy decoding; stops at an end-of-generation or control token, at the token budget, at the
 * time budget, when the stop rule says the suggestion is complete, when the text falls into a loop
 * (`stopAtLoop`: the rest would be more of it, which the filters cut), or within one token of a cancel
 * (cancellation is not an error: the result says `cancelled`, with what was generated until then).
 * With token healing, the first tokens are constrained to respell the prompt's dropped last token;
 * after `object.`, to spell one of the object's members.
 */
import { type LlamaContextSequence, type LlamaModel, TokenBias } from "node-llama-cpp";
import { answerCut } from "../chat/answerGuard";
import { endsGeneration, isTextToken, type TokenDecoder } from "../engine/tokenText";
import type { Token } from "./fimFormats";
import { LookupPredictor } from "../speculation/LookupPredictor";
import { RepetitionPrior } from "./repetitionPrior";
import { type Spelling, spellingOf, spellingRest, spellingStep, stillSpelling, withoutHealed } from "./tokenHealing";

type StopReason = "end-of-generation" | "max-tokens" | "time-budget" | "complete" | "repeating" | "cancelled";

export type GenerateOptions = {
    maxTokens: number;
    /** `performance.now()` value after which generation stops and returns what it has. */
    deadline: number;
    signal: AbortSignal;
    /** Called once, when the first token arrives (the prompt is evaluated). */
    onFirstToken?: (prefillMs: number) => void;
    /** Called with the text so far; true means the suggestion is complete. */
    isComplete?: (text: string) => boolean;
    /** Stop when the text's end repeats itself (chat/answerGuard.ts): a runaway line costs the rest of the token budget. */
    stopAtLoop?: boolean;
    /**
     * Token healing (tokenHealing.ts): the text of the prompt's dropped last token, which the
     * first generated tokens must spell out again, and the vocabulary's texts to choose them from;
     * after `object.`, the rest of the member names the suggestion may start with (memberAccess.ts).
     */
    heal?: {
        text: string;
        vocabulary: readonly string[];
        members?: readonly string[];
        nearbyMembers?: readonly string[];
    };
    /**
     * What a special token that does not end generation does: `stop` (a FIM suggestion is over at
     * a control token) or `text`, its text is part of the answer (a next-edit format's markers).
     */
    specialTokens?: "stop" | "text";
    /**
     * The repetition prior (repetitionPrior.ts), with the prompt's tokens that the generation continues
     * (the prefix's, after healing: `FimPrompt.continued`). Without it, the model's logits alone.
     */
    repetitionPrior?: { continued: readonly Token[] };
};

export type GenerateResult = {
    text: string;
    stopReason: StopReason;
    promptTokens: number;
    /** Prompt tokens that had to be evaluated (the rest were reused from the KV cache). */
    evaluatedPromptTokens: number;
    generatedTokens: number;
    prefillMs: number;
    decodeMs: number;
};

/**
 * Added to the logit of each token that may come: more than any model's logits spread, so the
 * greedy choice is the model's best among them (logits closer than float32's step at 1,000,
 * 6e-5, tie, and the first token wins).
 */
const ALLOWED_LOGIT = 1000;

/**
 * Added on top for a member the code near the cursor uses (memberAccess.ts `usedNearby`): a prior,
 * not a rule, so a model sure of another member still writes it.
 */
const NEARBY_LOGIT = 4;

/**
 * Each step's bias: the repetition prior's bonuses (repetitionPrior.ts), and while the first
 * tokens must spell one of the texts (tokenHealing.ts `spellingStep`) the tokens that may come:
 * usually the few allowed tokens raised rather than every other token forbidden — a "never" for
 * each of Qwen's 151,936 tokens took 41 ms to build a step, and node-llama-cpp hands each entry
 * to the sampler. A token node-llama-cpp takes for an end (Qwen's `</s>`, text
 * to us) cannot be raised (TokenBias skips it): when only such tokens fit, the others are
 * forbidden instead.
 */
function stepBias(
    model: LlamaModel,
    spelling: Spelling | undefined,
    vocabulary: readonly string[],
    generated: () => string,
    nearby: Spelling | undefined,
    repetition: RepetitionPrior | undefined
): () => TokenBias {
    const free = new TokenBias(model.tokenizer);
    return () => {
        const bonuses = repetition?.bonuses();
        const step = spelling && spellingStep(vocabulary, spelling, generated());
        if (!step) return bonuses?.size ? withLogits(new TokenBias(model.tokenizer), bonuses) : free;
        // The prior's bonuses first: a forbidden token's "never" overwrites its bonus.
        if ("forbid" in step) return withLogits(new TokenBias(model.tokenizer), bonuses).set(step.forbid, "never");
        if (step.raise.some((t) => !model.isEogToken(t))) {
            const logits = new Map<Token, number>(step.raise.map((t) => [t, ALLOWED_LOGIT]));
            const likelier = nearby && spellingStep(vocabulary, nearby, generated());
            if (likelier && "raise" in likelier)
                for (const t of likelier.raise) logits.set(t, ALLOWED_LOGIT + NEARBY_LOGIT);
            // Among the allowed tokens the repetition prior still counts; the others stay out of reach.
            for (const [t, b] of bonuses ?? []) {
                const allowed = logits.get(t);
                if (allowed !== undefined) logits.set(t, allowed + b);
            }
            return withLogits(new TokenBias(model.tokenizer), logits);
        }
        const ok = new Set(step.raise);
        return new TokenBias(model.tokenizer).set(
            Array.from(vocabulary, (_, t) => t as Token).filter((t) => !ok.has(t)),
            "never"
        );
    };
}

function withLogits(bias: TokenBias, logits: ReadonlyMap<Token, number> | undefined): TokenBias {
    for (const [t, logit] of logits ?? []) bias.set(t, { logit });
    return bias;
}

export async function generate(
    model: LlamaModel,
    sequence: LlamaContextSequence,
    decode: TokenDecoder,
    prompt: Token[],
    options: GenerateOptions
): Promise<GenerateResult> {
    options.signal.throwIfAborted();
    if (prompt.length === 0) throw new Error("empty prompt");

    // Keep the longest common beginning; at least one token must be evaluated to get logits.
    const keep = Math.min(sequence.compareContextTokens(prompt).firstDifferentIndex, prompt.length - 1);
    if (keep < sequence.nextTokenIndex)
        await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
    const toEvaluate = prompt.slice(keep);

    const started = performance.now();
    let firstTokenAt: number | undefined;
    const tokens: Token[] = [];
    let text = "";
    let stopReason: StopReason = "end-of-generation";

    const heal = options.heal?.text ?? "";
    let raw = "";
    // Special tokens kept as text: the text before the latest one, and the plain tokens since.
    let settled = "";
    let run: Token[] = [];
    const spelling = options.heal && spellingOf(heal, options.heal.members ?? []);
    const nearby = options.heal?.nearbyMembers?.length ? spellingOf(heal, options.heal.nearbyMembers) : undefined;
    // The suggestion's own tokens count too: a piece written twice is likelier a third time, which the loop stop ends.
    const repetition =
        options.repetitionPrior &&
        new RepetitionPrior(prompt, options.repetitionPrior.continued, (t) => !model.isSpecialToken(t));
    const tokenBias =
        spelling || repetition
            ? stepBias(model, spelling, options.heal?.vocabulary ?? [], () => raw, nearby, repetition)
            : undefined;
    // No drafts while healing, nor with the repetition prior: the bias of a verify batch's later
    // positions would not know its earlier tokens.
    const predictor = sequence.tokenPredictor instanceof LookupPredictor ? sequence.tokenPredictor : undefined;
    if (predictor) {
        let free = !spelling;
        predictor.allowed = repetition ? () => false : () => (free ||= !stillSpelling(spelling!, raw));
    }

    const ends = endsGeneration(model),
        plainText = isTextToken(model);
    // End-of-generation tokens come through so that this loop decides (tokenText.ts: `</s>` in Qwen's vocabulary).
    for await (const token of sequence.evaluate(toEvaluate, {
        temperature: 0,
        yieldEogToken: true,
        ...(tokenBias ? { tokenBias } : {})
    })) {
        if (firstTokenAt === undefined) {
            firstTokenAt = performance.now();
            options.onFirstToken?.(firstTokenAt - started);
        }
        if (options.signal.aborted) {
            stopReason = "cancelled";
            break;
        }
        const special = model.isSpecialToken(token) && !plainText(token);
        if (ends(token) || (special && options.specialTokens !== "text")) {
            stopReason = "end-of-generation";
            break;
        }
        tokens.push(token);
        repetition?.add(token);
        if (special) {
            settled += decode(run) + model.detokenize([token], true);
            run = [];
        } else run.push(token);
        raw = settled + decode(run);
        text = withoutHealed(raw, heal);
        if (options.isComplete?.(text)) {
            stopReason = "complete";
            break;
        }
        if (options.stopAtLoop && answerCut(text, false)) {
            stopReason = "repeating";
            break;
        }
        if (tokens.length >= options.maxTokens) {
            stopReason = "max-tokens";
            break;
        }
        if (performance.now() >= options.deadline) {
            stopReason = "time-budget";
            break;
        }
    }

    // node-llama-cpp cannot forbid the end-of-generation token (a "never" bias on it is ignored): a name begun is finished.
    if (spelling && stopReason === "end-of-generation") {
        const rest = spellingRest(spelling, raw, heal);
        if (rest) text = withoutHealed((raw += rest), heal);
    }

    const ended = performance.now();
    firstTokenAt ??= ended;
    return {
        text,
        stopReason,
        promptTokens: prompt.length,
        evaluatedPromptTokens: toEvaluate.length,
        generatedTokens: tokens.length,
        prefillMs: firstTokenAt - started,
        decodeMs: ended - firstTokenAt
    };
}

/** One line for the log: what was evaluated and generated, and why it stopped. */
export const generationSummary = (r: GenerateResult) =>
    `${r.evaluatedPromptTokens}/${r.promptTokens} prompt tokens evaluated in ${r.prefillMs.toFixed(1)} ms, ` +
    `${r.generatedTokens} generated in ${r.decodeMs.toFixed(1)} ms, stop: ${r.stopReason}`;
