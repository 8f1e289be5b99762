/**
 * Evaluates the demo model on held-out files (never trained on) through node-llama-cpp — the
 * engine the server uses — and writes the model card's figures:
 *
 * - bits per byte and perplexity at k = 1, the trained k, and all experts (the same file loaded
 *   with `metadataOverrides`), against unigram and bigram baselines over the same tokenizer;
 * - fill-in-the-middle exact match and edit similarity on held-out snippets cut at line ends and
 *   at bracket boundaries, through the server's own completion pipeline (with token healing), greedy;
 * - chat: 30 held-out prompts of the kinds the editor's actions send, through the server's chat
 *   session: the share of answers that end by themselves, the most times a line repeats, the length;
 * - next edits: held-out files with an edit each (bench/nextEditCases.ts), through the server's own
 *   proposal (the demo model's format, its candidate regions, its checks): exact match by kind;
 * - routing statistics (per-layer expert load, entropy, locality) from the PyTorch twin of the
 *   model on the same tokens (llama.cpp does not expose routing without the native runtime);
 * - completions of the first held-out snippets, as they come.
 *
 *   npx tsx pipeline/evaluate.ts MODEL.gguf CORPUS_DIR TRAIN_DIR OUT.json
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, readGgufFileInfo, type Token } from "node-llama-cpp";
import { buildPromptInput, type OpenDocument } from "../server/completion/promptInput";
import { buildFimPrompt } from "../server/completion/fimFormats";
import { endOfSuggestion, postprocess } from "../server/completion/filters";
import { generate } from "../server/completion/generate";
import { modelFim } from "../server/completion/modelFim";
import { createTokenDecoder, type TokenDecoder, vocabularyTexts } from "../server/engine/tokenText";
import { DEFAULT_SETTINGS } from "../server/settings/settings";
import { CHAT_DEFAULTS } from "../server/chat/ChatFeature";
import { fitConversation } from "../server/chat/fitConversation";
import { samplingFor } from "../server/chat/sampling";
import { ComputeLane } from "../server/engine/ComputeLane";
import { createChatContext, localChatSession } from "../server/engine/localChat";
import { inspectModel } from "../server/models/inspectModel";
import { ACTION_PROMPTS } from "../src/actionPrompts";
import { editSimilarity } from "../bench/stats";
import { fileOf, judge, loadCases, parsable, edited } from "../bench/nextEditCases";
import { nextEditFormat } from "../server/nextEdit/nextEditFormats";
import { proposeNextEdit } from "../server/nextEdit/proposeNextEdit";
import { rewriteOn } from "../server/engine/rewrite";
import { Chunker } from "../server/workspace/chunker";

/** `EVAL_QUICK=1` shrinks the evaluation to a smoke test of the script itself. */
const QUICK = process.env.EVAL_QUICK === "1";

export const EVALUATION = {
    /** Held-out tokens scored for perplexity at each k (spread over all held-out files, round robin by language). */
    perplexityTokens: QUICK ? 1024 : 8192,
    window: 256,
    fimSnippetsPerKind: QUICK ? 4 : 30,
    /** The server's defaults (prefix/suffix lines, token budget); no time budget, so slow k's are not cut short. */
    fimSettings: { ...DEFAULT_SETTINGS.completion, extraContext: false },
    samples: 6,
    seed: 7,
    /** Next-edit cases per kind (rename, parameter, fix, key), before the parser's filter. */
    nextEditCasesPerKind: QUICK ? 2 : 25,
    /** Chat prompts of the kinds the editor's actions send, and the answer budget each gets. */
    chatPrompts: QUICK ? 3 : 30,
    chatMaxTokens: 256,
    /** Loss by position: the first 1024 tokens of this many long held-out files, in buckets of 256. */
    positionFiles: QUICK ? 2 : 12,
    positionTokens: 1024,
    /**
     * One thread: with llama.cpp's default (all cores) on a 2-core machine its spinning workers
     * fight the JS thread and a FIM prompt took 50x longer (measured: 640 ms vs 11 ms).
     */
    threads: 1
} as const;

type CorpusFile = { path: string; language: string; text: string };
const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const root = path.resolve(import.meta.dirname, "..");

function rng(seed: number) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), a | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const readJsonl = (file: string) =>
    readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as CorpusFile);

/** Held-out files interleaved by language, so a prefix of the list is balanced. */
function interleave(files: CorpusFile[]): CorpusFile[] {
    const byLang = new Map<string, CorpusFile[]>();
    for (const f of files) byLang.set(f.language, [...(byLang.get(f.language) ?? []), f]);
    const lists = [...byLang.values()];
    const out: CorpusFile[] = [];
    for (let i = 0; out.length < files.length; i++) for (const l of lists) if (l[i]) out.push(l[i]!);
    return out;
}

/** Windows of held-out tokens: [tokens of one window][]; the first token of each window is context only. */
function perplexityWindows(model: LlamaModel, files: CorpusFile[]): Token[][] {
    const windows: Token[][] = [];
    let total = 0;
    for (const f of interleave(files)) {
        const tokens = model.tokenize(f.text, false);
        for (let i = 0; i + 2 <= tokens.length && total < EVALUATION.perplexityTokens; i += EVALUATION.window) {
            const w = tokens.slice(i, i + EVALUATION.window);
            windows.push(w);
            total += w.length - 1;
        }
        if (total >= EVALUATION.perplexityTokens) break;
    }
    return windows;
}

/** -ln p(next) from one controlledEvaluate result that asked for logits. */
function surprisal(result: unknown, next: Token): number {
    const logits = (result as { next: { logits: Map<Token, number> } }).next.logits;
    let max = -Infinity;
    for (const v of logits.values()) if (v > max) max = v;
    let sum = 0;
    for (const v of logits.values()) sum += Math.exp(v - max);
    return max + Math.log(sum) - logits.get(next)!;
}

/**
 * Held-out loss by position (buckets of 256) over long files at the trained k: shows how far
 * the model can use context beyond its 256-token training sequences.
 */
async function lossByPosition(llama: Llama, modelPath: string, files: CorpusFile[]) {
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: EVALUATION.positionTokens, threads: EVALUATION.threads });
    const sequence = context.getSequence();
    const buckets = EVALUATION.positionTokens / 256;
    const nats = new Array<number>(buckets).fill(0),
        counts = new Array<number>(buckets).fill(0);
    let used = 0;
    for (const f of interleave(files)) {
        const tokens = model.tokenize(f.text, false);
        if (tokens.length < EVALUATION.positionTokens) continue;
        const w = tokens.slice(0, EVALUATION.positionTokens);
        await sequence.clearHistory();
        const out = await sequence.controlledEvaluate(
            w.map((t, i) => (i < w.length - 1 ? [t, { generateNext: { logits: true } }] : t)) as never
        );
        for (let i = 0; i < w.length - 1; i++) {
            const b = Math.floor(i / 256);
            nats[b]! += surprisal(out[i], w[i + 1]!);
            counts[b]!++;
        }
        if (++used >= EVALUATION.positionFiles) break;
    }
    await context.dispose();
    await model.dispose();
    return {
        files: used,
        buckets: nats.map((n, b) => ({ from: b * 256, to: b * 256 + 255, natsPerToken: n / counts[b]! }))
    };
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

async function perplexity(
    llama: Llama,
    modelPath: string,
    k: number,
    windows: Token[][],
    decode: (t: Token[]) => string
) {
    const model = await llama.loadModel({
        modelPath,
        metadataOverrides: { qwen3moe: { expert_used_count: k } } as never
    });
    const context = await model.createContext({ contextSize: EVALUATION.window * 2, threads: EVALUATION.threads });
    const sequence = context.getSequence();
    let nats = 0,
        bytes = 0,
        count = 0;
    for (const w of windows) {
        await sequence.clearHistory();
        const out = await sequence.controlledEvaluate(
            w.map((t, i) => (i < w.length - 1 ? [t, { generateNext: { logits: true } }] : t)) as never
        );
        for (let i = 0; i < w.length - 1; i++) {
            nats += surprisal(out[i], w[i + 1]!);
            bytes += utf8Bytes(decode([w[i + 1]!]));
            count++;
        }
    }
    await context.dispose();
    await model.dispose();
    return { k, tokens: count, bytes, perplexity: Math.exp(nats / count), bitsPerByte: nats / Math.LN2 / bytes };
}

/** Unigram and interpolated absolute-discount bigram over the training split's tokens. */
function baselines(
    model: LlamaModel,
    trainFiles: CorpusFile[],
    windows: Token[][],
    vocab: number,
    decode: (t: Token[]) => string
) {
    const uni = new Float64Array(vocab);
    const bi = new Map<number, Map<number, number>>();
    let total = 0;
    for (const f of trainFiles) {
        const t = model.tokenize(f.text, false) as number[];
        for (let i = 0; i < t.length; i++) {
            uni[t[i]!] = uni[t[i]!]! + 1;
            total++;
            if (i > 0) {
                const row = bi.get(t[i - 1]!) ?? new Map<number, number>();
                row.set(t[i]!, (row.get(t[i]!) ?? 0) + 1);
                bi.set(t[i - 1]!, row);
            }
        }
    }
    const pUni = (t: number) => (uni[t]! + 1) / (total + vocab); // add-one: no held-out token has probability 0
    const D = 0.75;
    const rowTotals = new Map([...bi].map(([a, row]) => [a, [...row.values()].reduce((x, y) => x + y, 0)]));
    const pBi = (a: number, b: number) => {
        const row = bi.get(a);
        if (!row) return pUni(b);
        const n = rowTotals.get(a)!;
        return Math.max((row.get(b) ?? 0) - D, 0) / n + ((D * row.size) / n) * pUni(b);
    };
    let nUni = 0,
        nBi = 0,
        bytes = 0,
        count = 0;
    for (const w of windows)
        for (let i = 0; i < w.length - 1; i++) {
            const a = w[i] as number,
                b = w[i + 1] as number;
            nUni -= Math.log(pUni(b));
            nBi -= Math.log(pBi(a, b));
            bytes += utf8Bytes(decode([w[i + 1]!]));
            count++;
        }
    const figures = (nats: number) => ({ perplexity: Math.exp(nats / count), bitsPerByte: nats / Math.LN2 / bytes });
    return { trainTokens: total, unigram: figures(nUni), bigram: figures(nBi) };
}

/** A held-out file with its middle cut out at `offset`: the completion should put `middle` back. */
type Snippet = {
    kind: "line" | "bracket";
    path: string;
    language: string;
    text: string;
    offset: number;
    middle: string;
};

const cut = (f: CorpusFile, kind: Snippet["kind"], a: number, b: number): Snippet => ({
    kind,
    path: f.path,
    language: f.language,
    text: f.text.slice(0, a) + f.text.slice(b),
    offset: a,
    middle: f.text.slice(a, b)
});

/** Held-out FIM tasks: a whole non-trivial line, or the text between a bracket pair on one line. */
function fimSnippets(files: CorpusFile[]): Snippet[] {
    const random = rng(EVALUATION.seed);
    const line: Snippet[] = [],
        bracket: Snippet[] = [];
    const pool = interleave(files);
    for (
        let attempt = 0;
        attempt < 20_000 &&
        (line.length < EVALUATION.fimSnippetsPerKind || bracket.length < EVALUATION.fimSnippetsPerKind);
        attempt++
    ) {
        const f = pool[Math.floor(random() * pool.length)]!;
        const lines = f.text.split("\n");
        const n = Math.floor(random() * lines.length);
        const target = lines[n]!;
        if (target.trim().length < 8 || target.length > 120) continue;
        const start = lines.slice(0, n).join("\n").length + (n > 0 ? 1 : 0);
        if (line.length < EVALUATION.fimSnippetsPerKind && random() < 0.5) {
            const indent = /^\s*/.exec(target)![0].length;
            const a = start + indent,
                b = start + target.length;
            line.push(cut(f, "line", a, b));
        } else if (bracket.length < EVALUATION.fimSnippetsPerKind) {
            const m = /\(([^()\n]{3,60})\)|\[([^[\]\n]{3,60})\]|\{([^{}\n]{3,60})\}/.exec(target);
            if (!m) continue;
            const inner = m[1] ?? m[2] ?? m[3]!;
            const a = start + m.index + 1,
                b = a + inner.length;
            bracket.push(cut(f, "bracket", a, b));
        }
    }
    return [...line, ...bracket];
}

/** A document the completion context builder can read, over a string. */
function textDocument(path: string, language: string, text: string): OpenDocument {
    const lines = text.split("\n");
    return {
        uri: `file://${path}`,
        languageId: language,
        lineCount: lines.length,
        getText: (range) =>
            range
                ? lines
                      .slice(range.start.line, range.end.line)
                      .map((l) => l + "\n")
                      .join("")
                : text
    };
}

/**
 * Each snippet goes through the server's own completion pipeline (context builder, FIM prompt
 * within the model's context, generation with its stop rule, filters), greedy. A line snippet
 * is judged on the suggestion's first line (the model may go on to the next lines, as it does in
 * the editor); a bracket snippet is mid-line, so the suggestion is one line.
 */
async function fim(
    llama: Llama,
    modelPath: string,
    k: number,
    snippets: Snippet[],
    decodeFor: (m: LlamaModel) => (t: Token[]) => string
) {
    const model = await llama.loadModel({
        modelPath,
        metadataOverrides: { qwen3moe: { expert_used_count: k } } as never
    });
    const decode = decodeFor(model);
    const context = await model.createContext({ contextSize: model.trainContextSize, threads: EVALUATION.threads });
    const sequence = context.getSequence();
    const { fim: format, tokenizer } = modelFim(model);
    const settings = EVALUATION.fimSettings;
    const vocabulary = vocabularyTexts(model.fileInfo, decode as TokenDecoder);
    const results: {
        kind: string;
        exact: boolean;
        similarity: number;
        middle: string;
        output: string;
        raw: string;
        path: string;
    }[] = [];
    for (const s of snippets) {
        const before = s.text.slice(0, s.offset).split("\n");
        const ctx = buildPromptInput(
            textDocument(s.path, s.language, s.text),
            { line: before.length - 1, character: before.at(-1)!.length },
            settings
        );
        const prompt = buildFimPrompt(ctx, format, tokenizer, {
            maxPromptTokens: context.contextSize - settings.maxTokens - 1,
            healWith: (t) => vocabulary[t] ?? ""
        });
        const generated = await generate(model, sequence, decode as TokenDecoder, prompt.tokens, {
            maxTokens: settings.maxTokens,
            deadline: Infinity,
            signal: new AbortController().signal,
            isComplete: (text) => endOfSuggestion(text, ctx) !== undefined,
            stopAtLoop: true,
            heal: { text: prompt.heal, vocabulary },
            // As the server completes on the embedded model (`completion.repetitionPrior: auto`).
            repetitionPrior: { continued: prompt.continued }
        });
        const output = postprocess(generated.text, ctx).split("\n")[0]!;
        const expected = s.middle;
        const similarity = editSimilarity(output.trim(), expected.trim());
        results.push({
            kind: s.kind,
            exact: output.trim() === expected.trim(),
            similarity,
            middle: expected,
            output,
            raw: generated.text,
            path: s.path
        });
    }
    await context.dispose();
    await model.dispose();
    const summary = (kind: string) => {
        const r = results.filter((x) => x.kind === kind);
        return {
            snippets: r.length,
            exactMatch: r.filter((x) => x.exact).length / r.length,
            editSimilarity: r.reduce((a, x) => a + x.similarity, 0) / r.length
        };
    };
    return { k, line: summary("line"), bracket: summary("bracket"), results };
}

type ChatCase = { kind: "explain" | "returns" | "document"; path: string; code: string; name: string };

/** Functions of held-out files, as a user would select them (first come, one per file, round robin by kind). */
function chatCases(files: CorpusFile[]): ChatCase[] {
    const kinds: ChatCase["kind"][] = ["explain", "returns", "document"];
    const cases: ChatCase[] = [];
    for (const f of interleave(files)) {
        const lines = f.text.split("\n");
        const at = lines.findIndex((l) => /^(export\s+)?(async\s+)?(function\s+\w+\s*\(|def\s+\w+\s*\()/.test(l));
        if (at < 0) continue;
        const name = /(?:function|def)\s+(\w+)/.exec(lines[at]!)![1]!;
        const code = lines.slice(at, at + 14).join("\n");
        if (code.length > 900) continue;
        cases.push({ kind: kinds[cases.length % kinds.length]!, path: f.path, code, name });
        if (cases.length >= EVALUATION.chatPrompts) break;
    }
    return cases;
}

/**
 * Chat as the editor's actions ask it (src/actionPrompts.ts), on held-out code, through the
 * server's own chat session (template, sampling as the model card says, seeded, guards):
 * the share of answers that end by themselves, the most times one line is shown, the length.
 */
async function chatFigures(llama: Llama, modelPath: string, files: CorpusFile[]) {
    const inspection = await inspectModel(modelPath);
    const model = await llama.loadModel({ modelPath });
    // without speculation: a seeded answer's random draws would fall elsewhere, and the card's figures move
    const chat = await createChatContext(model, inspection, 2048, EVALUATION.threads, () => undefined, {
        enabled: "off",
        llama
    });
    const session = localChatSession(
        chat,
        inspection.trainedK,
        new ComputeLane(),
        undefined,
        new AbortController().signal
    );
    const sampling = samplingFor(inspection, DEFAULT_SETTINGS.chat.sampling);
    const results = [];
    for (const c of chatCases(files)) {
        const question =
            c.kind === "explain"
                ? ACTION_PROMPTS.explain
                : c.kind === "returns"
                  ? `What does ${c.name} return?`
                  : `${ACTION_PROMPTS.addDocComment}\n${ACTION_PROMPTS.editRule}`;
        const label = `${c.path.split("/").pop()}:1-${c.code.split("\n").length}`;
        const { turns } = fitConversation(
            CHAT_DEFAULTS.systemPrompt,
            [{ role: "user", content: question }],
            [{ kind: "selection", label, text: c.code }],
            2048 - EVALUATION.chatMaxTokens - 1,
            (t) => session.countTokens(t)
        );
        const answer = await session.answer(turns, {
            maxTokens: EVALUATION.chatMaxTokens,
            signal: new AbortController().signal,
            sampling,
            seed: EVALUATION.seed,
            onChunk: () => {}
        });
        results.push({
            kind: c.kind,
            question,
            stopReason: answer.stopReason,
            text: answer.text,
            tokens: answer.generatedTokens
        });
    }
    await chat.context.dispose();
    await model.dispose();
    const most = (text: string) => {
        const counts = new Map<string, number>();
        for (const line of text.split("\n").map((l) => l.trim()))
            if (line.length >= 8) counts.set(line, (counts.get(line) ?? 0) + 1);
        return Math.max(0, ...counts.values());
    };
    const lengths = results.map((r) => r.text.length).sort((a, b) => a - b);
    return {
        prompts: results.length,
        maxTokens: EVALUATION.chatMaxTokens,
        endedByThemselves: results.filter((r) => r.stopReason === "end-of-turn").length / results.length,
        stoppedRepeating: results.filter((r) => r.stopReason === "repeating").length / results.length,
        longestRepeatedLine: Math.max(0, ...results.map((r) => most(r.text))),
        medianChars: lengths[Math.floor(lengths.length / 2)] ?? 0,
        fencedWhereCodeAsked:
            results.filter((r) => r.kind === "document" && /```/.test(r.text)).length /
            Math.max(1, results.filter((r) => r.kind === "document").length),
        results
    };
}

/**
 * Next edits as the server proposes them (nextEdit/proposeNextEdit.ts with the demo model's format
 * and candidate regions, its checks), without a time budget, so the figures are the model's.
 */
async function nextEditFigures(llama: Llama, modelPath: string, heldout: string) {
    const cases = await parsable(loadCases(heldout, EVALUATION.nextEditCasesPerKind));
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: 2048, threads: EVALUATION.threads });
    const rewriteContext = {
        model,
        sequence: context.getSequence(),
        decode: createTokenDecoder(model, model.fileInfo),
        tokenizer: modelFim(model).tokenizer
    };
    const format = nextEditFormat("moe-pilot", "", "")!;
    const chunker = new Chunker();
    const results: { kind: string; proposed: boolean; exact: boolean; similarity: number }[] = [];
    for (const c of cases) {
        const lines = edited(c);
        const { edit } = await proposeNextEdit(
            {
                path: c.path,
                lines,
                edits: [
                    {
                        uri: c.path,
                        path: c.path,
                        line: c.edit.line,
                        before: [c.edit.before],
                        after: [c.edit.after],
                        at: 0
                    }
                ],
                cursor: { line: c.edit.line, character: c.edit.after.length }
            },
            format,
            {
                rewrite: (request) =>
                    rewriteOn(rewriteContext, context.contextSize, {
                        ...request,
                        signal: new AbortController().signal
                    }),
                syntaxErrors: (text) => chunker.syntaxErrors(fileOf(c), text),
                timeBudgetMs: Infinity
            }
        );
        results.push({ kind: c.kind, proposed: edit !== undefined, ...judge(c, edit) });
    }
    await context.dispose();
    await model.dispose();
    const share = (r: typeof results, f: (x: (typeof results)[number]) => boolean) =>
        r.filter(f).length / Math.max(1, r.length);
    const kinds = ["rename", "parameter", "fix", "key"] as const;
    return {
        cases: results.length,
        exactMatch: share(results, (r) => r.exact),
        editSimilarity: results.reduce((a, r) => a + r.similarity, 0) / Math.max(1, results.length),
        nothingProposed: share(results, (r) => !r.proposed),
        byKind: kinds.map((kind) => {
            const r = results.filter((x) => x.kind === kind);
            return { kind, cases: r.length, exactMatch: share(r, (x) => x.exact) };
        })
    };
}

async function main() {
    const [modelPath, corpusDir, trainDir, outJson] = process.argv.slice(2);
    if (!modelPath || !corpusDir || !trainDir || !outJson)
        throw new Error("usage: evaluate.ts MODEL.gguf CORPUS_DIR TRAIN_DIR OUT.json");
    const held = readJsonl(path.join(corpusDir, "heldout.jsonl"));
    const train = readJsonl(path.join(corpusDir, "train.jsonl"));
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const fileInfo = await readGgufFileInfo(modelPath);
    const arch = fileInfo.architectureMetadata as { expert_count: number; expert_used_count: number };
    const ks = [...new Set([1, arch.expert_used_count, arch.expert_count])].sort((a, b) => a - b);

    const vocabModel = await llama.loadModel({ modelPath, vocabOnly: true });
    const decode = createTokenDecoder(vocabModel, fileInfo);
    const windows = perplexityWindows(vocabModel, held);
    const started = Date.now();
    const phase = (name: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${name}`);
    phase(`${windows.length} perplexity windows`);
    const base = baselines(
        vocabModel,
        train,
        windows,
        (fileInfo.metadata.tokenizer!.ggml!.tokens as string[]).length,
        decode
    );
    console.log(
        `baselines: unigram ${base.unigram.bitsPerByte.toFixed(3)} bpb, bigram ${base.bigram.bitsPerByte.toFixed(3)} bpb`
    );

    const ppl = [];
    for (const k of ks) {
        const r = await perplexity(llama, modelPath, k, windows, decode);
        console.log(
            `k=${k}: ${r.bitsPerByte.toFixed(3)} bits/byte, perplexity ${r.perplexity.toFixed(2)} over ${r.tokens} held-out tokens`
        );
        ppl.push(r);
    }

    const positions = await lossByPosition(llama, modelPath, held);
    console.log(
        `loss by position (nats/token): ${positions.buckets.map((b) => `${b.from}–${b.to} ${b.natsPerToken.toFixed(3)}`).join(", ")}`
    );
    phase("perplexity done");
    const snippets = fimSnippets(held);
    phase(`${snippets.length} FIM snippets`);
    const fims = [];
    for (const k of ks) {
        const r = await fim(llama, modelPath, k, snippets, (m) => createTokenDecoder(m, fileInfo));
        console.log(
            `k=${k}: FIM line EM ${(r.line.exactMatch * 100).toFixed(1)}% ES ${(r.line.editSimilarity * 100).toFixed(1)}%, bracket EM ${(r.bracket.exactMatch * 100).toFixed(1)}% ES ${(r.bracket.editSimilarity * 100).toFixed(1)}%`
        );
        fims.push(r);
    }

    phase("FIM done");
    // Routing statistics from the PyTorch twin, on the same held-out windows.
    const dir = mkdtempSync(path.join(os.tmpdir(), "moe-pilot-eval-"));
    let routing: unknown;
    try {
        writeFileSync(path.join(dir, "windows.json"), JSON.stringify(windows));
        routing = JSON.parse(
            execFileSync(
                PYTHON,
                [path.join(root, "pipeline/train/routing_stats.py"), trainDir, path.join(dir, "windows.json")],
                { encoding: "utf8", maxBuffer: 1 << 28 }
            )
        );
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }

    const chat = await chatFigures(llama, modelPath, held);
    console.log(
        `chat: ${(chat.endedByThemselves * 100).toFixed(0)}% ended by themselves, ${(chat.stoppedRepeating * 100).toFixed(0)}% stopped repeating, ` +
            `a line at most ${chat.longestRepeatedLine} times, median ${chat.medianChars} characters (${chat.prompts} prompts)`
    );
    phase("chat done");
    const nextEdit = await nextEditFigures(llama, modelPath, path.join(corpusDir, "heldout.jsonl"));
    console.log(
        `next edits: EM ${(nextEdit.exactMatch * 100).toFixed(1)}% (${nextEdit.byKind.map((k) => `${k.kind} ${(k.exactMatch * 100).toFixed(1)}%`).join(", ")}), ` +
            `nothing proposed ${(nextEdit.nothingProposed * 100).toFixed(1)}% (${nextEdit.cases} cases)`
    );
    phase("next edits done");

    const trained = fims.find((f) => f.k === arch.expert_used_count)!;
    const samples = trained.results
        .filter((r) => r.kind === "line")
        .slice(0, EVALUATION.samples / 2)
        .concat(trained.results.filter((r) => r.kind === "bracket").slice(0, EVALUATION.samples / 2));
    const result = {
        model: path.basename(modelPath),
        evaluation: EVALUATION,
        heldOutFiles: held.length,
        baselines: base,
        perplexity: ppl,
        lossByPosition: positions,
        fim: fims.map(({ results: _r, ...rest }) => rest),
        routing,
        chat,
        nextEdit,
        samples,
        /** Every FIM result at the trained k, so anyone can read what the figures are made of. */
        fimResults: trained.results,
        seconds: Math.round((Date.now() - started) / 1000)
    };
    writeFileSync(outJson, JSON.stringify(result, null, 2) + "\n");
    await vocabModel.dispose();
    await llama.dispose();
}

await main();
