import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PromptInput } from "../../server/completion/promptInput";
import {
    type FimTokens,
    type Token,
    type Tokenizer,
    buildFimPrompt,
    resolveFimTokens
} from "../../server/completion/fimFormats";

/** A tokenizer over characters: one token per character (its code point), specials from a table. */
function charTokenizer(specials: Record<string, number>): Tokenizer {
    return {
        text: (t) => [...t].map((c) => c.codePointAt(0)! as Token),
        special: (t) => specials[t] as Token | undefined
    };
}
const decode = (tokens: Token[], specials: Record<string, number>) => {
    const names = new Map(Object.entries(specials).map(([k, v]) => [v, k]));
    return tokens.map((t) => names.get(t) ?? String.fromCodePoint(t)).join("");
};

const ctx = (over: Partial<PromptInput> = {}): PromptInput => ({
    uri: "file:///w/a.ts",
    languageId: "typescript",
    prefix: "let a = ",
    suffix: ";\n",
    linePrefix: "let a = ",
    lineSuffix: ";",
    midLine: false,
    indent: "",
    opensBlock: false,
    nextLines: [],
    extra: [],
    ...over
});

// Special ids above the Unicode range, so they never collide with the character tokens.
const STARCODER = {
    "<fim_prefix>": 2_000_001,
    "<fim_middle>": 2_000_002,
    "<fim_suffix>": 2_000_003,
    "<file_sep>": 2_000_004
};
const gguf = (s: Record<string, number>) => ({
    prefix: s["<fim_prefix>"] as Token,
    suffix: s["<fim_suffix>"] as Token,
    middle: s["<fim_middle>"] as Token
});

describe("FIM prompt", () => {
    test("PSM: prefix, suffix, then middle", () => {
        const tok = charTokenizer(STARCODER);
        const fim = resolveFimTokens(tok, gguf(STARCODER), undefined);
        assert.equal(fim.source, "gguf-tokens");
        const p = buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000 });
        assert.equal(decode(p.tokens, STARCODER), "<fim_prefix>let a = <fim_suffix>;\n<fim_middle>");
    });

    test("SPM (joint variant): the prefix runs into the middle, so typing appends", () => {
        const tok = charTokenizer(STARCODER);
        const fim = resolveFimTokens(tok, gguf(STARCODER), "spm");
        const before = buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000 }).tokens;
        const after = buildFimPrompt(ctx({ prefix: "let a = 4" }), fim, tok, { maxPromptTokens: 1000 }).tokens;
        assert.equal(decode(before, STARCODER), "<fim_prefix><fim_suffix>;\n<fim_middle>let a = ");
        assert.deepEqual(after.slice(0, before.length), before, "a typed character only appends tokens");
    });

    test("token healing: the prefix's last token leaves the prompt and comes back as text to respell", () => {
        const tok = charTokenizer(STARCODER);
        const fim = resolveFimTokens(tok, gguf(STARCODER), "spm");
        const healed = buildFimPrompt(ctx(), fim, tok, {
            maxPromptTokens: 1000,
            healWith: (t) => String.fromCodePoint(t)
        });
        assert.equal(decode(healed.tokens, STARCODER), "<fim_prefix><fim_suffix>;\n<fim_middle>let a =");
        assert.equal(healed.heal, " ");
        assert.equal(buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000 }).heal, "", "not asked: nothing healed");
        // What the generation continues (the repetition prior's text): the healed prefix, the prompt's tail here.
        assert.equal(decode(healed.continued, STARCODER), "let a =");
        assert.deepEqual(healed.tokens.slice(-healed.continued.length), healed.continued);
    });

    test("PSM: what the generation continues is the prefix, between its markers", () => {
        const tok = charTokenizer(STARCODER);
        const fim = resolveFimTokens(tok, gguf(STARCODER), undefined);
        const p = buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000, healWith: (t) => String.fromCodePoint(t) });
        assert.equal(decode(p.continued, STARCODER), "let a =");
        assert.equal(decode(p.tokens, STARCODER), "<fim_prefix>let a =<fim_suffix>;\n<fim_middle>");
    });

    test("falls back to a family template when the GGUF has no FIM keys", () => {
        const qwen = {
            "<|fim_prefix|>": 2_000_010,
            "<|fim_suffix|>": 2_000_011,
            "<|fim_middle|>": 2_000_012,
            "<|file_sep|>": 2_000_013
        };
        const tok = charTokenizer(qwen);
        const fim = resolveFimTokens(tok, {}, undefined);
        assert.equal(fim.source, "family-template");
        assert.equal(fim.family, "qwen-coder");
        assert.equal(
            decode(buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000 }).tokens, qwen),
            "<|fim_prefix|>let a = <|fim_suffix|>;\n<|fim_middle|>"
        );
    });

    test("Codestral's SPM has no middle marker: [SUFFIX]suffix[PREFIX]prefix", () => {
        const codestral = { "[PREFIX]": 2_000_020, "[SUFFIX]": 2_000_021 };
        const tok = charTokenizer(codestral);
        const fim = resolveFimTokens(tok, {}, undefined);
        assert.equal(fim.family, "codestral");
        assert.equal(
            decode(buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000 }).tokens, codestral),
            "[SUFFIX];\n[PREFIX]let a = "
        );
    });

    test("without FIM tokens the prompt is the prefix alone", () => {
        const tok = charTokenizer({});
        const fim = resolveFimTokens(tok, {}, undefined);
        assert.equal(fim.source, "none");
        assert.equal(decode(buildFimPrompt(ctx(), fim, tok, { maxPromptTokens: 1000 }).tokens, {}), "let a = ");
    });

    test("over budget: the suffix keeps its head, the prefix keeps the text nearest the cursor", () => {
        const tok = charTokenizer(STARCODER);
        const fim = resolveFimTokens(tok, gguf(STARCODER), undefined);
        const p = buildFimPrompt(ctx({ prefix: "a".repeat(50) + "NEAR", suffix: "HEAD" + "z".repeat(50) }), fim, tok, {
            maxPromptTokens: 43
        });
        assert.ok(p.tokens.length <= 43);
        const text = decode(p.tokens, STARCODER);
        assert.match(text, /NEAR<fim_suffix>HEAD/);
        assert.ok(p.trimmed.prefix > 0 && p.trimmed.suffix > 0);
    });

    test("extra context comes first, with file separators, and only when it fits", () => {
        const tok = charTokenizer(STARCODER);
        const fim = resolveFimTokens(tok, gguf(STARCODER), undefined);
        const withExtra = ctx({ extra: [{ path: "/w/b.ts", text: "export const b = 1;" }] });
        const roomy = decode(buildFimPrompt(withExtra, fim, tok, { maxPromptTokens: 1000 }).tokens, STARCODER);
        assert.ok(roomy.startsWith("<file_sep>/w/b.ts\nexport const b = 1;\n<file_sep>/w/a.ts\n<fim_prefix>"), roomy);
        const tight = buildFimPrompt(withExtra, fim, tok, { maxPromptTokens: 20 });
        assert.equal(tight.trimmed.extraFiles, 1);
        assert.ok(decode(tight.tokens, STARCODER).startsWith("<fim_prefix>"));
    });

    test("special-token text in the user's code stays text", () => {
        const specials = { ...STARCODER };
        const tok = charTokenizer(specials);
        const fim: FimTokens = resolveFimTokens(tok, gguf(STARCODER), undefined);
        const p = buildFimPrompt(ctx({ prefix: "// <fim_middle>" }), fim, tok, { maxPromptTokens: 1000 });
        assert.equal(
            p.tokens.filter((t) => t === STARCODER["<fim_middle>"]).length,
            1,
            "only the real middle marker is a special token"
        );
    });
});
