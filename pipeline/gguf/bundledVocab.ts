/**
 * Tokenizers from the vocab-only GGUFs in the llama.cpp source node-llama-cpp ships
 * (`models/ggml-vocab-*.gguf`: the real tokenizers of Qwen2, StarCoder, DeepSeek-Coder, GPT-NeoX, …)
 * and chat templates from its `models/templates/`, read offline and made ready to write into a
 * model of ours.
 */
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { bool, f32Array, type GgufValue, i32Array, str, strArray, u32 } from "./GgufWriter";
import { readLlamaCppFile } from "../llamaSource";

/** llama.cpp's token types (llama_token_type). */
export const TokenType = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

/** The `tokenizer.ggml.*` metadata of a bundled vocab GGUF (e.g. "ggml-vocab-qwen2.gguf"), ready to write again. */
export async function bundledVocab(file: string): Promise<Record<string, GgufValue>> {
    const tmp = path.join(os.tmpdir(), `moe-pilot-vocab-${process.pid}-${file}`);
    writeFileSync(tmp, readLlamaCppFile(`models/${file}`));
    try {
        const info = await readGgufFileInfo(tmp, { readTensorInfo: false });
        const out: Record<string, GgufValue> = {};
        for (const [key, value] of Object.entries(info.metadata.tokenizer?.ggml ?? {})) {
            const name = `tokenizer.ggml.${key}`;
            if (key === "tokens" || key === "merges") out[name] = strArray(value as string[]);
            else if (key === "token_type") out[name] = i32Array(value as number[]);
            else if (key === "scores") out[name] = f32Array(value as number[]);
            else if (typeof value === "boolean") out[name] = bool(value);
            else if (typeof value === "number") out[name] = u32(value);
            else if (typeof value === "string") out[name] = str(value);
        }
        return out;
    } finally {
        rmSync(tmp, { force: true });
    }
}

/** A chat template of the bundled llama.cpp source (`models/templates/<file>`). */
export function bundledTemplate(file: string): string {
    return readLlamaCppFile(`models/templates/${file}`).toString("utf8");
}

/** The id of `text` in a vocabulary written by `bundledVocab`; throws when it has none. */
export function tokenId(vocab: Record<string, GgufValue>, text: string): number {
    const id = (vocab["tokenizer.ggml.tokens"]!.value as readonly string[]).indexOf(text);
    if (id < 0) throw new Error(`the vocabulary has no ${text} token`);
    return id;
}

/**
 * `vocab` edited into a real model's: cut or padded to `length` tokens (padding as llama.cpp's
 * converter writes it, `[PAD<id>]`, unused), then each of `tokens` written at its id. The bundled
 * vocab files hold placeholders where the models built on them add their special tokens.
 */
export function editVocab(
    vocab: Record<string, GgufValue>,
    edits: { length?: number; tokens: readonly { id: number; text: string; type: number }[] }
): Record<string, GgufValue> {
    const texts = [...(vocab["tokenizer.ggml.tokens"]!.value as readonly string[])];
    const types = Array.from(vocab["tokenizer.ggml.token_type"]!.value as ArrayLike<number>);
    const length = edits.length ?? texts.length;
    texts.length = types.length = Math.min(texts.length, length);
    for (let id = texts.length; id < length; id++) {
        texts.push(`[PAD${id}]`);
        types.push(TokenType.UNUSED);
    }
    for (const { id, text, type } of edits.tokens) {
        if (id >= length) throw new Error(`token ${text}: id ${id} is past the vocabulary's end (${length})`);
        texts[id] = text;
        types[id] = type;
    }
    return { ...vocab, "tokenizer.ggml.tokens": strArray(texts), "tokenizer.ggml.token_type": i32Array(types) };
}

/** `texts` as consecutive tokens of one type from id `first` on (for `editVocab`). */
export function tokensFrom(first: number, type: number, texts: readonly string[]) {
    return texts.map((text, i) => ({ id: first + i, text, type }));
}
