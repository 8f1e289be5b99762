/**
 * The text of generated tokens, byte for byte as the model produced them.
 *
 * llama.cpp's detokenize (what node-llama-cpp's `model.detokenize` calls) "cleans up" spaces
 * before punctuation for many byte-level BPE vocabularies (StarCoder's, GPT-2's, OLMo's…):
 * `a != b` comes back as `a!= b`, which corrupts code. For those vocabularies we decode from the
 * vocabulary itself: each token string maps back to bytes through GPT-2's byte-to-character table.
 * Other vocabularies (SentencePiece) do not clean spaces and keep llama.cpp's detokenize.
 */
import type { GgufFileInfo, LlamaModel, Token } from "node-llama-cpp";

export type TokenDecoder = (tokens: readonly Token[]) => string;

/** GPT-2's byte-level BPE: the printable character each byte is written as in a vocabulary. */
export function byteCharacters(): string[] {
    const printable = [...range(0x21, 0x7e), ...range(0xa1, 0xac), ...range(0xae, 0xff)];
    let extra = 0;
    return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable.includes(b) ? b : 256 + extra++));
}

/** The same, backwards: character → byte. */
function charToByte(): Map<string, number> {
    return new Map(byteCharacters().map((c, b) => [c, b]));
}

function* range(from: number, to: number) {
    for (let i = from; i <= to; i++) yield i;
}

const CONTROL_TOKEN_TYPE = 3;
const NORMAL_TOKEN_TYPE = 1;

/**
 * Whether a generated token ends the generation. llama.cpp takes any token spelled `</s>` for an
 * end-of-generation token (and makes it a control token), but in Qwen's vocabulary — every Qwen
 * model's — `</s>` is ordinary text, HTML's closing strikethrough tag: a Qwen model writing it
 * would stop mid-line. A token the file itself types as ordinary text ends nothing, unless the
 * file names it its end-of-sequence token.
 */
export function endsGeneration(model: LlamaModel): (token: Token) => boolean {
    const types = fileTokenTypes(model);
    const named = new Set([model.tokens.eos, model.tokens.eot].filter((t) => t !== null));
    return (token) => model.isEogToken(token) && (types?.[token] !== NORMAL_TOKEN_TYPE || named.has(token));
}

/** Whether the file types a token as ordinary text (llama.cpp may still call it special: `</s>`). */
export function isTextToken(model: LlamaModel): (token: Token) => boolean {
    const types = fileTokenTypes(model);
    return (token) => types?.[token] === NORMAL_TOKEN_TYPE;
}

/** The token types the GGUF gives its vocabulary (llama.cpp may change some on load). */
function fileTokenTypes(model: LlamaModel): readonly number[] | undefined {
    return (model.fileInfo.metadata.tokenizer?.ggml as { token_type?: readonly number[] } | undefined)?.token_type;
}

export function createTokenDecoder(model: LlamaModel, fileInfo: GgufFileInfo): TokenDecoder {
    const ggml = fileInfo.metadata.tokenizer?.ggml as
        { model?: string; tokens?: readonly string[]; token_type?: readonly number[] } | undefined;
    const vocab = ggml?.tokens;
    if (ggml?.model !== "gpt2" || !vocab || vocab.length === 0) return (tokens) => model.detokenize(tokens);

    const bytesOf = charToByte();
    const types = ggml.token_type;
    const cache = new Map<number, Uint8Array>();
    const tokenBytes = (t: number): Uint8Array => {
        let bytes = cache.get(t);
        if (bytes) return bytes;
        const text = vocab[t] ?? "";
        if (types?.[t] === CONTROL_TOKEN_TYPE) bytes = new Uint8Array();
        else {
            const chars = [...text];
            bytes = chars.every((c) => bytesOf.has(c))
                ? Uint8Array.from(chars, (c) => bytesOf.get(c)!)
                : new TextEncoder().encode(text); // user-defined tokens are stored as plain text
        }
        cache.set(t, bytes);
        return bytes;
    };
    const decoder = new TextDecoder("utf-8");
    return (tokens) => {
        const parts = tokens.map((t) => tokenBytes(t as number));
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
            all.set(p, at);
            at += p.length;
        }
        return decoder.decode(all);
    };
}

/** Every token's text (index = id), decoded the way generated text is (token healing matches against it). */
export function vocabularyTexts(fileInfo: GgufFileInfo, decode: TokenDecoder): string[] {
    const size = (fileInfo.metadata.tokenizer?.ggml?.tokens as readonly string[] | undefined)?.length ?? 0;
    return Array.from({ length: size }, (_, t) => decode([t as Token]));
}
