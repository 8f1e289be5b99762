/**
 * The FIM format of a loaded model (its GGUF tokens, else a family template, else none) and the
 * tokenizer the prompt builder uses. Resolved once per load by the engine, so the status the
 * user sees and the prompts the completion builds agree.
 */
import type { LlamaModel } from "node-llama-cpp";
import { type FimOrder, type FimTokens, type Tokenizer, resolveFimTokens } from "./fimFormats";

export function modelFim(model: LlamaModel): { fim: FimTokens; tokenizer: Tokenizer } {
    const tokenizer: Tokenizer = {
        text: (text) => model.tokenize(text, false),
        special: (text) => {
            const tokens = model.tokenize(text, true);
            return tokens.length === 1 && model.isSpecialToken(tokens[0]) ? tokens[0] : undefined;
        }
    };
    const order = (model.fileInfo.metadata as { moe_pilot?: { fim?: { order?: string } } }).moe_pilot?.fim?.order;
    const orderHint: FimOrder | undefined = order === "spm" || order === "psm" ? order : undefined;
    const infill = model.tokens.infill;
    const fim = resolveFimTokens(
        tokenizer,
        { prefix: infill.prefix ?? undefined, suffix: infill.suffix ?? undefined, middle: infill.middle ?? undefined },
        orderHint
    );
    return { fim, tokenizer };
}
