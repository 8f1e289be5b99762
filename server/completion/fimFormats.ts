/**
 * Stage 2: the fill-in-the-middle prompt, as tokens.
 *
 * The model's own FIM tokens (from its GGUF) come first; a table of per-family templates is the
 * fallback for files that lack the `tokenizer.ggml.fim_*` keys; a model with neither continues
 * the prefix left to right. User text is always tokenized with special tokens off, so code that
 * contains "<fim_middle>" cannot inject control tokens into the prompt.
 *
 * Order matters for the KV cache. PSM (prefix, suffix, middle) puts the suffix after the cursor,
 * so each typed character re-evaluates the whole suffix. SPM (suffix first, then prefix — the
 * "joint" variant of Bavarian et al. 2022 that StarCoder trained on) makes a typed character
 * append a token or two. SPM is used only where the model was trained for it (GGUF key
 * `moe_pilot.fim.order` = "spm", or a family that uses it).
 */
import type { Token } from "node-llama-cpp";
import type { PromptInput } from "./promptInput";
import { healPrefix } from "./tokenHealing";

export type { Token };

/** Tokenization the prompt builder needs, implemented by the engine (node-llama-cpp) or by a test. */
export type Tokenizer = {
    /** Plain text to tokens; special-token text is treated as text. */
    text(text: string): Token[];
    /** The id of a special token, or undefined when the vocabulary has none by that text. */
    special(text: string): Token | undefined;
};

export type FimOrder = "psm" | "spm";

export type FimFamily = {
    name: string;
    prefix: string;
    suffix: string;
    /** Empty for families without a middle marker (Codestral). */
    middle: string;
    order: FimOrder;
    /** Put before each extra-context file, followed by its path, where the family was trained with one. */
    fileSeparator?: string;
};

/** Fallback templates, from each family's model card and llama.cpp's `llama-vocab.cpp`. */
export const FIM_FAMILIES: readonly FimFamily[] = [
    {
        name: "qwen-coder",
        prefix: "<|fim_prefix|>",
        suffix: "<|fim_suffix|>",
        middle: "<|fim_middle|>",
        order: "psm",
        fileSeparator: "<|file_sep|>"
    },
    {
        name: "starcoder",
        prefix: "<fim_prefix>",
        suffix: "<fim_suffix>",
        middle: "<fim_middle>",
        order: "psm",
        fileSeparator: "<file_sep>"
    },
    {
        name: "deepseek-coder",
        prefix: "<｜fim▁begin｜>",
        suffix: "<｜fim▁hole｜>",
        middle: "<｜fim▁end｜>",
        order: "psm"
    },
    { name: "codellama", prefix: "<PRE>", suffix: "<SUF>", middle: "<MID>", order: "psm" },
    { name: "codestral", prefix: "[PREFIX]", suffix: "[SUFFIX]", middle: "", order: "spm" }
];

/** FIM markers resolved to token ids for one model. */
export type FimTokens = {
    source: "gguf-tokens" | "family-template" | "none";
    family: string;
    prefix?: Token;
    suffix?: Token;
    middle?: Token;
    order: FimOrder;
    fileSeparator?: Token;
};

/** Picks the model's FIM markers: its GGUF tokens, else the first family template its vocabulary has. */
export function resolveFimTokens(
    tok: Tokenizer,
    gguf: { prefix?: Token; suffix?: Token; middle?: Token },
    orderHint: FimOrder | undefined
): FimTokens {
    const fileSeparator = FIM_FAMILIES.map((f) => f.fileSeparator && tok.special(f.fileSeparator)).find(
        (t) => t !== undefined
    );
    if (gguf.prefix !== undefined && gguf.suffix !== undefined && gguf.middle !== undefined)
        return {
            source: "gguf-tokens",
            family: "gguf",
            ...gguf,
            order: orderHint ?? "psm",
            fileSeparator: fileSeparator || undefined
        };
    for (const family of FIM_FAMILIES) {
        const prefix = tok.special(family.prefix),
            suffix = tok.special(family.suffix);
        const middle = family.middle ? tok.special(family.middle) : undefined;
        if (prefix === undefined || suffix === undefined || (family.middle && middle === undefined)) continue;
        return {
            source: "family-template",
            family: family.name,
            prefix,
            suffix,
            middle,
            order: orderHint ?? family.order,
            fileSeparator: family.fileSeparator ? tok.special(family.fileSeparator) : undefined
        };
    }
    return { source: "none", family: "none", order: "psm" };
}

export type PromptBudget = {
    /** Tokens the whole prompt may take (context size minus what generation needs). */
    maxPromptTokens: number;
    /** Token healing (tokenHealing.ts): the text of a token; given, the prefix's last token is dropped to be respelled. */
    healWith?: (token: Token) => string;
};

export type FimPrompt = {
    tokens: Token[];
    /** How many prefix/suffix tokens were dropped to fit the budget. */
    trimmed: { prefix: number; suffix: number; extraFiles: number };
    /** The dropped last prefix token's text, which generation must respell ("" when not healing). */
    heal: string;
    /** The prefix's tokens (after healing): what the generation continues. */
    continued: Token[];
};

/** The suffix never takes more than this share of the prompt when both do not fit. */
const SUFFIX_SHARE = 0.25;
/** Extra context never takes more than this share of the prompt. */
const EXTRA_SHARE = 0.5;
/** The prefix is shortened by this many lines at a time (promptInput.ts's anchor), so its start is stable. */
const TRIM_BLOCK_LINES = 16;
/** A snippet cut to fewer tokens than this is left out rather than cut. */
const MIN_SNIPPET_TOKENS = 48;

export function buildFimPrompt(ctx: PromptInput, fim: FimTokens, tok: Tokenizer, budget: PromptBudget): FimPrompt {
    const markers = 3;
    const room = Math.max(0, budget.maxPromptTokens - markers);
    const trimmed = { prefix: 0, suffix: 0, extraFiles: 0 };

    // Extra context first, within its share (it changes least, so it opens the prompt and stays cached).
    // A share of 0 means no snippets at all; undefined, whatever room the file leaves.
    const extraShare =
        ctx.extraTokens === undefined ? undefined : Math.min(ctx.extraTokens, Math.floor(room * EXTRA_SHARE));
    const extraChunks = ctx.extra.map((snippet) =>
        fim.fileSeparator !== undefined
            ? [fim.fileSeparator, ...tok.text(`${snippet.path}\n${snippet.text}\n`)]
            : tok.text(`// ${snippet.path}\n${snippet.text}\n\n`)
    );
    const closing =
        fim.fileSeparator !== undefined ? [fim.fileSeparator, ...tok.text(`${ctx.path ?? fileName(ctx.uri)}\n`)] : [];
    const pickExtra = (left: number) => {
        const extra: Token[] = [];
        let dropped = 0;
        for (const chunk of extraChunks) {
            const room = left - extra.length - closing.length;
            if (chunk.length <= room) extra.push(...chunk);
            // A snippet too long for what is left keeps its head (a declaration's signature and first lines).
            else if (room >= MIN_SNIPPET_TOKENS) extra.push(...chunk.slice(0, room));
            else dropped++;
        }
        if (extra.length > 0) extra.push(...closing);
        return { extra, dropped };
    };
    const reservedPick = extraShare !== undefined ? pickExtra(extraShare) : undefined;
    const reserved = reservedPick?.extra.length ?? 0;

    let prefix = tok.text(ctx.prefix);
    let suffix = fim.source === "none" ? [] : tok.text(ctx.suffix);
    const fileRoom = room - reserved;
    if (prefix.length + suffix.length > fileRoom) {
        const suffixRoom = Math.min(
            suffix.length,
            Math.max(fileRoom - prefix.length, Math.floor(fileRoom * SUFFIX_SHARE))
        );
        trimmed.suffix = suffix.length - suffixRoom;
        suffix = suffix.slice(0, suffixRoom);
        const prefixRoom = fileRoom - suffix.length;
        // Whole blocks of lines go from the prefix's far end, so its start stays put while the user types.
        let text = ctx.prefix;
        while (prefix.length > prefixRoom) {
            const lines = text.split("\n");
            if (lines.length <= TRIM_BLOCK_LINES + 1) break;
            text = lines.slice(TRIM_BLOCK_LINES).join("\n");
            prefix = tok.text(text);
        }
        const before = tok.text(ctx.prefix).length;
        if (prefix.length > prefixRoom) prefix = prefix.slice(prefix.length - prefixRoom); // one huge line
        trimmed.prefix = before - prefix.length;
    }

    let heal = "";
    if (budget.healWith) ({ prefix, heal } = healPrefix(prefix, budget.healWith));

    const { extra, dropped } = reservedPick ?? pickExtra(Math.max(0, room - prefix.length - suffix.length));
    trimmed.extraFiles = dropped;

    if (fim.source === "none") return { tokens: [...extra, ...prefix], trimmed, heal, continued: prefix };
    const pre = fim.prefix!,
        suf = fim.suffix!;
    let tokens: Token[];
    if (fim.order === "psm")
        tokens = [pre, ...prefix, suf, ...suffix, ...(fim.middle !== undefined ? [fim.middle] : [])];
    // SPM, joint variant: <PRE><SUF>suffix<MID>prefix — the prefix runs straight into the middle.
    else if (fim.middle !== undefined) tokens = [pre, suf, ...suffix, fim.middle, ...prefix];
    // SPM without a middle marker (Codestral): [SUFFIX]suffix[PREFIX]prefix.
    else tokens = [suf, ...suffix, pre, ...prefix];
    return { tokens: [...extra, ...tokens], trimmed, heal, continued: prefix };
}

/** The current file's name after the last file separator: what the model continues in. */
function fileName(uri: string): string {
    return decodeURIComponent(uri.replace(/^file:\/\//, ""));
}
