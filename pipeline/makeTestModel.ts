/**
 * Writes the random-weight test models: a tiny `qwen3moe` (8 experts, top-2) and a dense `qwen3`
 * twin, both with StarCoder's real code tokenizer (FIM tokens included) taken from the vocab GGUF
 * in the llama.cpp source node-llama-cpp ships; and the architecture replicas of the registry's
 * models (pipeline/replicas/replicas.ts) into `replicas/`.
 *
 * The weights are random: these models exercise the plumbing (loading, FIM prompts, KV reuse,
 * cancellation, expert counts), never output quality. Deterministic for a fixed seed.
 *
 *   npx tsx pipeline/makeTestModel.ts [outDir]   (default: models/test)
 */
import { mkdirSync, readFileSync, renameSync } from "node:fs";
import path from "node:path";
import { type GgufTensor, type GgufValue, i32Array, str, strArray, u32, bool, writeGguf } from "./gguf/GgufWriter";
import { qwen3Hyperparameters } from "./gguf/qwen3Metadata";
import { GgmlType } from "./gguf/quantize";
import { bundledVocab, tokenId } from "./gguf/bundledVocab";
import { normalFiller } from "./gguf/randomWeights";
import { makeReplicas, qwen3Vocab } from "./replicas/replicas";

/** Shapes of the test models: tiny on purpose, so that tests load them in milliseconds. */
export const TEST_MODEL_SHAPE = {
    embedding: 64,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 16,
    experts: 8,
    expertsUsed: 2,
    expertFeedForward: 64,
    denseFeedForward: 128,
    contextLength: 4096,
    seed: 1234
} as const;

export const TEST_MODEL_FILES = {
    moe: "moe-pilot-test-moe.gguf",
    dense: "moe-pilot-test-dense.gguf",
    loop: "moe-pilot-test-loop.gguf",
    turns: "moe-pilot-test-turns.gguf",
    strike: "moe-pilot-test-strike.gguf"
} as const;

/**
 * Built, not random: MoE models whose greedy decoding goes round a fixed cycle of tokens (vocab
 * strings of StarCoder's tokenizer), for the chat's guards (server/chat/answerGuard.ts). `loop`
 * repeats one line forever, as a looping model does; `turns` writes a code fence and then a turn
 * header of its own, as the demo model did ("# Assistant" over and over).
 */
const CYCLES = {
    loop: ["It", "Ġgoes", "Ġaround", "Ġand", "Ġround", ".", "Ċ"],
    // The prompt ends in a newline ("### Assistant\n"): that token starts the fence.
    turns: ["Ċ", "```", "ts", "ĊĠĠĠĠ", "const", "Ġx", "Ġ=", "Ġy", ";", "ĊĊ", "#", "ĠAssistant", "ĊĊĊ"],
    // With Qwen's vocabulary, where `</s>` is ordinary text that llama.cpp takes for an end (tokenText.ts).
    strike: ["Ċ", "<s>", "old", "</s>"]
} as const;

/** StarCoder's tokenizer (the bundled vocab GGUF) with its FIM tokens named, ready to write again. */
export async function starcoderTokenizer(): Promise<Record<string, GgufValue>> {
    const vocab = await bundledVocab("ggml-vocab-starcoder.gguf");
    return {
        ...vocab,
        "tokenizer.ggml.add_bos_token": bool(false),
        "tokenizer.ggml.fim_pre_token_id": u32(tokenId(vocab, "<fim_prefix>")),
        "tokenizer.ggml.fim_suf_token_id": u32(tokenId(vocab, "<fim_suffix>")),
        "tokenizer.ggml.fim_mid_token_id": u32(tokenId(vocab, "<fim_middle>")),
        "tokenizer.ggml.fim_pad_token_id": u32(tokenId(vocab, "<fim_pad>"))
    };
}

/**
 * The metadata of the project's own BPE tokenizer (pipeline/train/tokenizer.py writes it as JSON):
 * a GPT-2-style byte-level BPE with the `starcoder` pre-tokenizer, special tokens first.
 */
export function projectTokenizer(jsonPath: string): Record<string, GgufValue> {
    const { vocab, merges } = JSON.parse(readFileSync(jsonPath, "utf8")) as { vocab: string[]; merges: string[] };
    const special = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<file_sep>"];
    special.forEach((t, i) => {
        if (vocab[i] !== t) throw new Error(`token ${i} should be ${t}`);
    });
    const CONTROL = 3,
        NORMAL = 1;
    return {
        "tokenizer.ggml.model": str("gpt2"),
        // `command-r` splits exactly as `starcoder` does, but without llama.cpp's clean-up of spaces
        // before punctuation on detokenize (which would turn " != " into "!= ").
        "tokenizer.ggml.pre": str("command-r"),
        "tokenizer.ggml.tokens": strArray(vocab),
        "tokenizer.ggml.token_type": i32Array(vocab.map((_, i) => (i < special.length ? CONTROL : NORMAL))),
        "tokenizer.ggml.merges": strArray(merges),
        "tokenizer.ggml.bos_token_id": u32(0),
        "tokenizer.ggml.eos_token_id": u32(0),
        "tokenizer.ggml.padding_token_id": u32(4),
        "tokenizer.ggml.add_bos_token": bool(false),
        "tokenizer.ggml.fim_pre_token_id": u32(1),
        "tokenizer.ggml.fim_mid_token_id": u32(2),
        "tokenizer.ggml.fim_suf_token_id": u32(3),
        "tokenizer.ggml.fim_pad_token_id": u32(4),
        "tokenizer.ggml.fim_sep_token_id": u32(5)
    };
}

export function buildModel(
    kind: "moe" | "dense",
    tokenizer: Record<string, GgufValue>,
    outFile: string,
    cycle?: readonly string[]
) {
    const s = TEST_MODEL_SHAPE;
    const arch = kind === "moe" ? "qwen3moe" : "qwen3";
    const tokenTexts = tokenizer["tokenizer.ggml.tokens"]!.value as readonly string[];
    const vocab = tokenTexts.length;
    const fill = normalFiller(s.seed + (kind === "moe" ? 0 : 1) + (cycle ? 2 : 0));
    const embedding = fill(s.embedding * vocab, 1);
    // A cycle: the layers add nothing (their output projections are zero), so the last hidden state is the
    // token's own embedding, normalised; the output row of each cycle token's successor is that embedding,
    // which wins the argmax by a wide margin (|e|² ≈ 64 against e·e' ≈ ±8). Any other token leads into the cycle.
    const zeroIfCycle = (data: Float32Array) => (cycle ? new Float32Array(data.length) : data);
    let output = fill(s.embedding * vocab, 8 / Math.sqrt(s.embedding));
    if (cycle) {
        output = new Float32Array(s.embedding * vocab);
        const ids = cycle.map((text) => {
            const id = tokenTexts.indexOf(text);
            if (id < 0) throw new Error(`the tokenizer has no ${text} token`);
            return id;
        });
        ids.forEach((id, i) => {
            const next = ids[(i + 1) % ids.length]!;
            output.set(embedding.subarray(id * s.embedding, (id + 1) * s.embedding), next * s.embedding);
        });
    }
    const ones = (n: number) => new Float32Array(n).fill(1);
    const qDim = s.heads * s.headDim,
        kvDim = s.kvHeads * s.headDim;
    const w = (std: number) => std / Math.sqrt(s.embedding);

    const tensors: GgufTensor[] = [
        {
            name: "token_embd.weight",
            shape: [s.embedding, vocab],
            type: GgmlType.Q8_0,
            data: embedding
        },
        { name: "output_norm.weight", shape: [s.embedding], type: GgmlType.F32, data: ones(s.embedding) },
        // An untied output layer: with tied random embeddings the model would echo its last input
        // token (often a FIM special token, which renders as nothing) and test no text path.
        {
            name: "output.weight",
            shape: [s.embedding, vocab],
            type: GgmlType.Q8_0,
            data: output
        }
    ];
    for (let l = 0; l < s.layers; l++) {
        const p = `blk.${l}.`;
        tensors.push(
            { name: p + "attn_norm.weight", shape: [s.embedding], type: GgmlType.F32, data: ones(s.embedding) },
            {
                name: p + "attn_q.weight",
                shape: [s.embedding, qDim],
                type: GgmlType.Q8_0,
                data: fill(s.embedding * qDim, w(1))
            },
            {
                name: p + "attn_k.weight",
                shape: [s.embedding, kvDim],
                type: GgmlType.Q8_0,
                data: fill(s.embedding * kvDim, w(1))
            },
            {
                name: p + "attn_v.weight",
                shape: [s.embedding, kvDim],
                type: GgmlType.Q8_0,
                data: fill(s.embedding * kvDim, w(1))
            },
            {
                name: p + "attn_output.weight",
                shape: [qDim, s.embedding],
                type: GgmlType.F32,
                data: zeroIfCycle(fill(qDim * s.embedding, w(1)))
            },
            { name: p + "attn_q_norm.weight", shape: [s.headDim], type: GgmlType.F32, data: ones(s.headDim) },
            { name: p + "attn_k_norm.weight", shape: [s.headDim], type: GgmlType.F32, data: ones(s.headDim) },
            { name: p + "ffn_norm.weight", shape: [s.embedding], type: GgmlType.F32, data: ones(s.embedding) }
        );
        if (kind === "moe") {
            const ff = s.expertFeedForward,
                e = s.experts;
            tensors.push(
                {
                    name: p + "ffn_gate_inp.weight",
                    shape: [s.embedding, e],
                    type: GgmlType.F32,
                    data: fill(s.embedding * e, w(4))
                },
                {
                    name: p + "ffn_gate_exps.weight",
                    shape: [s.embedding, ff, e],
                    type: GgmlType.Q8_0,
                    data: fill(s.embedding * ff * e, w(1))
                },
                {
                    name: p + "ffn_up_exps.weight",
                    shape: [s.embedding, ff, e],
                    type: GgmlType.Q8_0,
                    data: fill(s.embedding * ff * e, w(1))
                },
                {
                    name: p + "ffn_down_exps.weight",
                    shape: [ff, s.embedding, e],
                    type: GgmlType.Q8_0,
                    data: zeroIfCycle(fill(ff * s.embedding * e, 1 / Math.sqrt(ff)))
                }
            );
        } else {
            const ff = s.denseFeedForward;
            tensors.push(
                {
                    name: p + "ffn_gate.weight",
                    shape: [s.embedding, ff],
                    type: GgmlType.Q8_0,
                    data: fill(s.embedding * ff, w(1))
                },
                {
                    name: p + "ffn_up.weight",
                    shape: [s.embedding, ff],
                    type: GgmlType.Q8_0,
                    data: fill(s.embedding * ff, w(1))
                },
                {
                    name: p + "ffn_down.weight",
                    shape: [ff, s.embedding],
                    type: GgmlType.Q8_0,
                    data: fill(ff * s.embedding, 1 / Math.sqrt(ff))
                }
            );
        }
    }

    const metadata: Record<string, GgufValue> = {
        "general.architecture": str(arch),
        "general.name": str(
            cycle
                ? "MoE Pilot test cycle (built to repeat)"
                : kind === "moe"
                  ? "MoE Pilot test MoE (random weights)"
                  : "MoE Pilot test dense (random weights)"
        ),
        "general.description": str(
            cycle
                ? `Built to write ${JSON.stringify(cycle.join(""))} over and over, for the chat's guards.`
                : "Random weights for plumbing tests. Its output is meaningless by design."
        ),
        "general.file_type": u32(7), // mostly Q8_0
        // The MoE test model is marked as trained for SPM prompts so that both prompt orders are
        // exercised by the tests (the dense one uses the default, PSM).
        ...(kind === "moe" ? { "moe_pilot.fim.order": str("spm") } : {}),
        ...qwen3Hyperparameters(arch, {
            contextLength: s.contextLength,
            embedding: s.embedding,
            layers: s.layers,
            feedForward: kind === "moe" ? s.expertFeedForward * s.expertsUsed : s.denseFeedForward,
            heads: s.heads,
            kvHeads: s.kvHeads,
            headDim: s.headDim,
            moe:
                kind === "moe"
                    ? { experts: s.experts, expertsUsed: s.expertsUsed, expertFeedForward: s.expertFeedForward }
                    : undefined
        }),
        ...tokenizer
    };

    // Write beside, then rename: a reader never sees a half-written model.
    const partial = outFile + ".partial";
    writeGguf(partial, metadata, tensors);
    renameSync(partial, outFile);
}

export async function makeTestModels(outDir: string) {
    mkdirSync(outDir, { recursive: true });
    const tokenizer = await starcoderTokenizer();
    for (const kind of ["moe", "dense"] as const)
        buildModel(kind, tokenizer, path.join(outDir, TEST_MODEL_FILES[kind]));
    for (const name of ["loop", "turns"] as const)
        buildModel("moe", tokenizer, path.join(outDir, TEST_MODEL_FILES[name]), CYCLES[name]);
    buildModel("moe", await qwen3Vocab(), path.join(outDir, TEST_MODEL_FILES.strike), CYCLES.strike);
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const outDir = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, "..", "models", "test"));
    await makeTestModels(outDir);
    const replicas = await makeReplicas(path.join(outDir, "replicas"));
    console.log(
        `test models written to ${outDir}; architecture replicas ${replicas.length ? `written: ${replicas.join(", ")}` : "up to date"}`
    );
}
