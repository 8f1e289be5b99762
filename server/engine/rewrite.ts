/**
 * A greedy continuation of a prompt in a task's own format (next edits: nextEdit/nextEditFormats.ts)
 * on a context sequence, for the local backend and the evaluation alike. The parts the format marks
 * special become the model's special tokens where its vocabulary has them; every other part,
 * user text included, is tokenized as text. The answer ends before the first stop text.
 */
import type { LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type { RewriteOutput, RewriteRequest } from "../backend/Backend";
import type { Tokenizer } from "../completion/fimFormats";
import { generate, generationSummary } from "../completion/generate";
import type { TokenDecoder } from "./tokenText";

export type RewriteContext = {
    model: LlamaModel;
    sequence: LlamaContextSequence;
    decode: TokenDecoder;
    tokenizer: Tokenizer;
};

export async function rewriteOn(
    c: RewriteContext,
    contextSize: number,
    request: RewriteRequest
): Promise<RewriteOutput> {
    const prompt = request.prompt.flatMap((part) => {
        if (typeof part === "string") return c.tokenizer.text(part);
        const special = c.tokenizer.special(part.special);
        return special === undefined ? c.tokenizer.text(part.special) : [special];
    });
    const room = contextSize - request.maxTokens - 1;
    if (prompt.length > room) throw new Error(`the prompt (${prompt.length} tokens) does not fit the context`);
    const result = await generate(c.model, c.sequence, c.decode, prompt, {
        maxTokens: request.maxTokens,
        deadline: performance.now() + request.timeBudgetMs,
        signal: request.signal,
        isComplete: (text) => request.stop.some((s) => text.includes(s)),
        specialTokens: "text"
    });
    const cut = Math.min(...request.stop.map((s) => result.text.indexOf(s)).filter((i) => i >= 0), result.text.length);
    return {
        text: result.text.slice(0, cut),
        cancelled: result.stopReason === "cancelled",
        ended: result.stopReason === "end-of-generation" || result.stopReason === "complete",
        generatedTokens: result.generatedTokens,
        summary: generationSummary(result)
    };
}
