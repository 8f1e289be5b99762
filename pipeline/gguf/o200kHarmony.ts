/**
 * gpt-oss's tokenizer, o200k_harmony, as its GGUF holds it. The bundled llama.cpp source has no
 * vocab file for it; OpenAI's o200k_base ranks come from js-tiktoken (MIT, which ships them), and
 * the rest is what llama.cpp's conversion writes: each token's bytes as GPT-2 byte-level BPE text,
 * the merges derived from the ranks as Hugging Face's tiktoken converter derives them (every split
 * of a token into two tokens, ordered by the token's rank, then by the two halves' ranks), the
 * `gpt-4o` pre-tokenizer, and harmony's special tokens at their ids (199,998–201,087).
 */
import o200kBase from "js-tiktoken/ranks/o200k_base";
import { bool, type GgufValue, i32Array, str, strArray, u32 } from "./GgufWriter";
import { TokenType } from "./bundledVocab";
import { byteCharacters } from "../../server/engine/tokenText";

/** o200k_harmony's special tokens, from 199,998 to 201,087 (the rest reserved). */
function harmonySpecials(): string[] {
    const named: Record<number, string> = {
        199998: "<|startoftext|>",
        199999: "<|endoftext|>",
        200002: "<|return|>",
        200003: "<|constrain|>",
        200005: "<|channel|>",
        200006: "<|start|>",
        200007: "<|end|>",
        200008: "<|message|>",
        200012: "<|call|>",
        200018: "<|endofprompt|>"
    };
    return Array.from({ length: 201088 - 199998 }, (_, i) => named[199998 + i] ?? `<|reserved_${199998 + i}|>`);
}

export function o200kHarmonyVocab(): Record<string, GgufValue> {
    // Each token's bytes as a binary string (one character per byte), by rank.
    const byRank: string[] = [];
    for (const line of o200kBase.bpe_ranks.split("\n")) {
        if (!line) continue;
        const [, offset, ...tokens] = line.split(" ");
        tokens.forEach((t, i) => (byRank[Number(offset) + i] = Buffer.from(t, "base64").toString("latin1")));
    }
    const rank = new Map(byRank.map((bytes, r) => [bytes, r]));
    const chars = byteCharacters();
    const text = (bytes: string) => Array.from(bytes, (c) => chars[c.charCodeAt(0)]).join("");

    const merges: string[] = [];
    byRank.forEach((bytes) => {
        const splits: [string, string][] = [];
        for (let i = 1; i < bytes.length; i++) {
            const left = bytes.slice(0, i),
                right = bytes.slice(i);
            if (rank.has(left) && rank.has(right)) splits.push([left, right]);
        }
        splits.sort((a, b) => rank.get(a[0])! - rank.get(b[0])! || rank.get(a[1])! - rank.get(b[1])!);
        for (const [left, right] of splits) merges.push(`${text(left)} ${text(right)}`);
    });

    const specials = harmonySpecials();
    const tokens = [...byRank.map(text), ...specials];
    const id = (special: string) => byRank.length + specials.indexOf(special);
    return {
        "tokenizer.ggml.model": str("gpt2"),
        "tokenizer.ggml.pre": str("gpt-4o"),
        "tokenizer.ggml.tokens": strArray(tokens),
        "tokenizer.ggml.token_type": i32Array(
            tokens.map((_, i) => (i < byRank.length ? TokenType.NORMAL : TokenType.CONTROL))
        ),
        "tokenizer.ggml.merges": strArray(merges),
        "tokenizer.ggml.bos_token_id": u32(id("<|startoftext|>")),
        "tokenizer.ggml.eos_token_id": u32(id("<|return|>")),
        "tokenizer.ggml.padding_token_id": u32(id("<|endoftext|>")),
        "tokenizer.ggml.add_bos_token": bool(false)
    };
}
