/**
 * Writes docs/MODEL_CARD.md from the evaluation (pipeline/evaluate.ts), the training manifest and
 * the corpus summary: every figure in the card comes from a file a rerun regenerates.
 *
 *   npx tsx pipeline/modelCard.ts EVAL.json MANIFEST.json CORPUS_SUMMARY.json OUT.md
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const [evalJson, manifestJson, summaryJson, outMd, previousJson] = process.argv.slice(2);
if (!evalJson || !manifestJson || !summaryJson || !outMd)
    throw new Error("usage: modelCard.ts EVAL.json MANIFEST.json CORPUS_SUMMARY.json OUT.md [PREVIOUS_EVAL.json]");
const root = path.resolve(import.meta.dirname, "..");

type Figures = { perplexity: number; bitsPerByte: number };
type Fim = { snippets: number; exactMatch: number; editSimilarity: number };
const ev = JSON.parse(readFileSync(evalJson, "utf8")) as {
    model: string;
    heldOutFiles: number;
    evaluation: { perplexityTokens: number; fimSnippetsPerKind: number };
    baselines: { trainTokens: number; unigram: Figures; bigram: Figures };
    perplexity: (Figures & { k: number; tokens: number; bytes: number })[];
    lossByPosition: { files: number; buckets: { from: number; to: number; natsPerToken: number }[] };
    fim: { k: number; line: Fim; bracket: Fim }[];
    routing: {
        k: number;
        tokens: number;
        perLayer: {
            layer: number;
            expertLoad: number[];
            maxOverMeanLoad: number;
            routerEntropyBits: number;
            maxEntropyBits: number;
            locality: number;
            localityIfRandom: number;
        }[];
    };
    samples: { kind: string; path: string; middle: string; output: string; exact: boolean; similarity: number }[];
    /** Absent in evaluations made before the chat figures existed. */
    chat?: {
        prompts: number;
        maxTokens: number;
        endedByThemselves: number;
        stoppedRepeating: number;
        longestRepeatedLine: number;
        medianChars: number;
        fencedWhereCodeAsked: number;
    };
    /** Absent in evaluations made before the next-edit figures existed. */
    nextEdit?: {
        cases: number;
        exactMatch: number;
        editSimilarity: number;
        nothingProposed: number;
        byKind: { kind: string; cases: number; exactMatch: number }[];
    };
};
/** A fine-tuning stage's record in the manifest (pipeline/train/finetune_loop.py train_stage). */
type Stage<Settings> = {
    settings: Settings;
    steps: number;
    tokens: number;
    minutes: number;
    log: { step: number; heldout_loss: number }[];
};
const manifest = JSON.parse(readFileSync(manifestJson, "utf8")) as {
    config: {
        vocab: number;
        d: number;
        layers: number;
        heads: number;
        kv_heads: number;
        head_dim: number;
        experts: number;
        experts_used: number;
        expert_ff: number;
    };
    parameters: number;
    steps: number;
    tokens: number;
    minutes: number;
    training: {
        seed: number;
        batch: number;
        sequence: number;
        lr: number;
        min_lr_ratio: number;
        balance_coef: number;
        fim_rate: number;
    };
    log: { step: number; heldout_loss: number; train_loss: number; balance: number }[];
    finetune?: Stage<{
        seed: number;
        sequence: number;
        batch: number;
        lr: number;
        editor_fim: number;
        random_fim: number;
        chat: number;
        spm_share: number;
    }>;
    stage3?: Stage<{
        seed: number;
        sequence: number;
        batch: number;
        lr: number;
        copy?: number;
        target_weight?: number;
        repo_fim: number;
        next_edit: number;
        chat: number;
        editor_fim: number;
    }>;
    stage4?: Stage<{
        seed: number;
        sequence: number;
        batch: number;
        lr: number;
        target_weight: number;
        next_edit: number;
        nothing_follows: number;
        repo_fim: number;
        chat: number;
        editor_fim: number;
    }>;
};
const ft = manifest.finetune;
const s3 = manifest.stage3;
const s4 = manifest.stage4;
const longest = Math.max(manifest.training.sequence, ft?.settings.sequence ?? 0);
const corpus = JSON.parse(readFileSync(summaryJson, "utf8")) as {
    stats: Record<string, { files: number; bytes: number }>;
    trainFiles: number;
    heldOutFiles: number;
    heldOutBytes: number;
};
const sources = JSON.parse(readFileSync(path.join(root, "pipeline/corpus/sources.json"), "utf8")) as {
    npm: { package: string; version: string; license: string; language: string }[];
    python: { debianPackage: string; license: string };
};
const gguf = path.join(root, "models/embedded", ev.model);
const sha = readFileSync(`${gguf}.sha256`, "utf8").split(/\s+/)[0];
const c = manifest.config;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const trained = ev.perplexity.find((p) => p.k === c.experts_used)!;
const mb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);
const code = (s: string) => "`" + s.replace(/`/g, "ˋ").replace(/\|/g, "\\|").replace(/\n/g, "⏎") + "`";

const card = `# Model card: MoE Pilot demo model

**A demo.** A tiny Mixture-of-Experts code model that lets the extension, its tests and its demo
run offline on a fresh machine. It completes common code patterns and little else; real work
uses a real model (Qwen3-Coder-30B-A3B and the others of the registry).

Generated by \`npm run model:eval\` (pipeline/modelCard.ts) from the evaluation output
(\`models/embedded/eval.json\`): every figure below comes from that run.

## The model

| | |
|---|---|
| file | \`models/embedded/${ev.model}\`, ${mb(statSync(gguf).size)}, SHA-256 \`${sha}\` (checked at load) |
| architecture | llama.cpp \`qwen3moe\`: every layer MoE, no shared expert, softmax top-k routing, renormalised weights |
| shape | ${c.layers} layers, d=${c.d}, ${c.heads} heads (${c.kv_heads} KV heads) of ${c.head_dim}, ${c.experts} experts per layer of ${c.expert_ff}, top-${c.experts_used}; tied embeddings |
| parameters | ${(manifest.parameters / 1e6).toFixed(2)} M in all |
| quantization | Q8_0 for matrices; F32 for norms and routers |
| tokenizer | our own byte-level BPE, ${c.vocab} tokens, with \`<fim_prefix>\`, \`<fim_middle>\`, \`<fim_suffix>\`, \`<fim_pad>\`, \`<file_sep>\`; llama.cpp pre-tokenizer \`command-r\` (StarCoder's split without space clean-up). Chosen over StarCoder's 49k vocabulary because a tiny model's output layer is most of its compute: 6x fewer output rows bought several times more training tokens in the same CPU time. llama.cpp and the Python trainer agree on every held-out token (\`pipeline/checkTokenizer.ts\`). |
| FIM | trained on ${pct(manifest.training.fim_rate)} FIM samples (half PSM, half SPM in the joint variant), cut at random characters or line ends; the server prompts it SPM (GGUF key \`moe_pilot.fim.order\`) |
| context | trained on sequences of up to ${longest} tokens; declares ${2 * longest} (\`context_length\`, which the server caps its context at), as far as held-out loss stays level (see loss by position below) |

## Training

\`npm run model:train\` retrains it from scratch on CPU: collect the corpus, train the tokenizer,
train (seed ${manifest.training.seed}, ${manifest.steps} steps of ${manifest.training.batch} x ${manifest.training.sequence} tokens = ${(manifest.tokens / 1e6).toFixed(1)} M tokens,
AdamW lr ${manifest.training.lr} cosine to ${manifest.training.min_lr_ratio}x, load-balancing loss x${manifest.training.balance_coef}), export with the
project's GGUF writer, check the tokenizer and the export against llama.cpp, evaluate. This run
took ${manifest.minutes} minutes of training on 2 cores (PyTorch 1.13 from Debian with OpenBLAS).

Loss on held-out tokens during training (nats/token): ${manifest.log
    .filter((_, i, a) => i % Math.max(1, Math.floor(a.length / 8)) === 0 || i === a.length - 1)
    .map((l) => `step ${l.step}: ${l.heldout_loss.toFixed(2)}`)
    .join(", ")}.
${
    ft
        ? `
Stage two (\`pipeline/train/finetune_fim.py\`): ${ft.steps} steps of ${ft.settings.batch} x ${ft.settings.sequence} tokens (${(ft.tokens / 1e6).toFixed(1)} M tokens, ${ft.minutes} minutes, seed ${ft.settings.seed}, lr ${ft.settings.lr} cosine)
on the shapes an editor asks for: ${pct(ft.settings.editor_fim)} FIM samples cut where a cursor sits (after a line's
indentation, inside a bracket pair, inside a line) with the middle running to the end of the line,
of a few lines or to the closing bracket, ${pct(ft.settings.spm_share)} of them SPM; ${pct(ft.settings.random_fim)} stage-one FIM cuts; ${pct(ft.settings.chat)} chat
turns in the format the server renders for a model without a chat template (its system prompt,
the selection as the server attaches it, the editor actions' own words), with tasks made from the
code: a function's documentation comment answers "explain", the function with its comment answers
"add a documentation comment", the lines that follow answer "complete", the code itself, fenced,
answers "rewrite"; the rest plain text. Stage one's cuts left the cursor almost never where an
editor puts it, and its chat answers were unfenced code that nothing could be applied from. Held-out loss on ${ft.settings.sequence}-token windows: ${ft.log.map((l) => `step ${l.step}: ${l.heldout_loss.toFixed(2)}`).join(", ")}.
`
        : ""
}${
    s3
        ? `
Stage three (\`pipeline/train/finetune_context.py\`, starting from the stage-two model file, read back by
\`pipeline/train/from_gguf.py\`, which round-trips to the same bytes): ${s3.steps} steps of ${s3.settings.batch} x ${s3.settings.sequence} tokens
(${(s3.tokens / 1e6).toFixed(1)} M tokens, ${s3.minutes} minutes, seed ${s3.settings.seed}, lr ${s3.settings.lr} cosine) on what the server now puts before the
file. The loss is ${pct(1 - (s3.settings.target_weight ?? 0.5))} the mean over every token, ${pct(s3.settings.target_weight ?? 0.5)} the mean over samples of what each asks the model to write.
${s3.settings.copy ? `${pct(s3.settings.copy)} copying samples: random tokens, then the same tokens again (the stage-two model had no copying from its context at all: on random tokens repeated, its loss fell only from 11.0 to 10.5 nats/token); ` : ""}${pct(s3.settings.repo_fim)} completions cut right before a name another file of the same package defines, with that
definition's chunk (or, a fifth of the time, only other chunks) before the file in the server's
\`<file_sep>path:line\` format; ${pct(s3.settings.next_edit)} next edits in the project's first format (a recent edit as a diff hunk, a region,
the region rewritten: a rename at a declaration and its next use, a parameter added and a call, the
same fix at another occurrence, a key added to an object literal, and edits with nothing to follow);
${pct(s3.settings.chat)} chat (stage two's tasks, "what does it return" answered in a sentence, two-turn conversations,
workspace chunks attached as \`@workspace\` attaches them); ${pct(s3.settings.editor_fim)} stage two's editor-shaped FIM; the rest plain text.
Held-out loss on ${s3.settings.sequence}-token windows: ${s3.log.map((l) => `step ${l.step}: ${l.heldout_loss.toFixed(2)}`).join(", ")}.
`
        : ""
}${
    s4
        ? `
Stage four (\`pipeline/train/finetune_next_edit.py\`, from the stage-three model file, read back the same way): ${s4.steps} steps of
${s4.settings.batch} x ${s4.settings.sequence} tokens (${(s4.tokens / 1e6).toFixed(1)} M tokens, ${s4.minutes} minutes, seed ${s4.settings.seed}, lr ${s4.settings.lr} cosine) on next edits in the
project's format. Stage three asked the model to write a five-line region again with the next edit made in it, and it
never learnt to copy the region; here the server shows the change the user made in whole tokens and one candidate line,
and the model answers \`=\` when the line takes the same change (a rename's use, a repeated fix), writes the change of its
own that it takes (a call that needs the new parameter, a literal the new key), or nothing; a third of the renames are to
a name unrelated to the old one. ${pct(s4.settings.next_edit)} of the sequences are next edits, packed as many
as fit (${pct(s4.settings.nothing_follows)} of them with nothing to follow); ${pct(s4.settings.repo_fim)} stage three's repository completions, ${pct(s4.settings.chat)} its chat,
${pct(s4.settings.editor_fim)} editor-shaped FIM, the rest plain text; the loss ${pct(s4.settings.target_weight)} what each sample asks for.
Held-out loss on ${s4.settings.sequence}-token windows: ${s4.log.map((l) => `step ${l.step}: ${l.heldout_loss.toFixed(2)}`).join(", ")}.
`
        : ""
}

## Data

Permissively licensed code on this machine and in npm packages (\`pipeline/corpus/sources.json\`);
whole files are held out by a hash of their path (${corpus.heldOutFiles} files, ${mb(corpus.heldOutBytes)}) and never trained on.

| language | files | bytes |
|---|---|---|
${Object.entries(corpus.stats)
    .map(([l, s]) => `| ${l} | ${s.files} | ${mb(s.bytes)} |`)
    .join("\n")}

| source | version | licence |
|---|---|---|
${sources.npm.map((s) => `| npm \`${s.package}\` (${s.language}) | ${s.version} | ${s.license} |`).join("\n")}
| Python 3.11 standard library (Debian \`${sources.python.debianPackage}\`) | 3.11 | ${sources.python.license} |

Languages are sampled equally during training, whatever their share of bytes.

## Held-out results (through node-llama-cpp, the engine the server uses)

Perplexity and bits per byte over ${trained.tokens} held-out tokens (${mb(trained.bytes)}), at each expert count
(the same file loaded with \`metadataOverrides\`), against baselines over the same tokenizer
trained on the same training split (${(ev.baselines.trainTokens / 1e6).toFixed(1)} M tokens):

| model | bits per byte | perplexity |
|---|---|---|
| unigram (add-one) | ${ev.baselines.unigram.bitsPerByte.toFixed(3)} | ${ev.baselines.unigram.perplexity.toFixed(1)} |
| bigram (interpolated absolute discounting) | ${ev.baselines.bigram.bitsPerByte.toFixed(3)} | ${ev.baselines.bigram.perplexity.toFixed(1)} |
${ev.perplexity.map((p) => `| demo model, k=${p.k}${p.k === c.experts_used ? " (trained)" : p.k === c.experts ? " (all experts)" : ""} | ${p.bitsPerByte.toFixed(3)} | ${p.perplexity.toFixed(1)} |`).join("\n")}

Loss by position (k=${c.experts_used}, first ${ev.lossByPosition.buckets.length * 256} tokens of ${ev.lossByPosition.files} long held-out files, nats/token): how much context
the model can use beyond its ${manifest.training.sequence}-token training sequences.

| positions | ${ev.lossByPosition.buckets.map((b) => `${b.from}–${b.to}`).join(" | ")} |
|---|${ev.lossByPosition.buckets.map(() => "---").join("|")}|
| loss | ${ev.lossByPosition.buckets.map((b) => b.natsPerToken.toFixed(3)).join(" | ")} |

Fill-in-the-middle, greedy, ${ev.evaluation.fimSnippetsPerKind} held-out snippets of each kind: a whole line (cursor after its
indentation), and the text inside a bracket pair on one line (cursor after the opening bracket).
Each goes through the server's own completion pipeline: its context builder (64 lines before,
16 after), its FIM prompt (SPM) within the model's context, its stop rules and filters.
Exact match (EM) and edit similarity (ES, 1 − Levenshtein / longer length) of the suggestion's first line:

| k | line EM | line ES | bracket EM | bracket ES |
|---|---|---|---|---|
${ev.fim.map((f) => `| ${f.k} | ${pct(f.line.exactMatch)} | ${pct(f.line.editSimilarity)} | ${pct(f.bracket.exactMatch)} | ${pct(f.bracket.editSimilarity)} |`).join("\n")}
${chatSection()}
${nextEditSection()}
${previousSection()}
## Routing (from the PyTorch twin on the same held-out tokens, k=${ev.routing.k})

llama.cpp does not expose routing without the native runtime, so these come from the PyTorch
model the GGUF was exported from (the F32 export matches llama.cpp's logits exactly; Q8_0 can
flip near-ties). Locality is the share of a token's experts that the previous token also used
(${pct(ev.routing.perLayer[0]!.localityIfRandom)} if routing were random).

| layer | expert load (share of assignments, experts 0–${c.experts - 1}) | max/mean load | router entropy (bits, max ${ev.routing.perLayer[0]!.maxEntropyBits}) | locality |
|---|---|---|---|---|
${ev.routing.perLayer.map((l) => `| ${l.layer} | ${l.expertLoad.map((x) => (x * 100).toFixed(0)).join(" / ")} | ${l.maxOverMeanLoad.toFixed(2)} | ${l.routerEntropyBits.toFixed(2)} | ${pct(l.locality)} |`).join("\n")}

## Samples

The first held-out snippets of each kind, as they come (not picked), at the trained k:

| kind | file | expected | completed | |
|---|---|---|---|---|
${ev.samples.map((s) => `| ${s.kind} | ${s.path} | ${code(s.middle)} | ${code(s.output)} | ${s.exact ? "exact" : `ES ${pct(s.similarity)}`} |`).join("\n")}

## Limits

A few million parameters trained on ${((manifest.tokens + (ft?.tokens ?? 0)) / 1e6).toFixed(0)} M tokens: it knows common syntax and frequent idioms
of the three languages, not APIs or intent. Its chat is the format and a few mechanical tasks
learnt from code (copy into a fenced block, a documentation comment's first sentence), not
understanding: read its answers as a demonstration of the panel, not as advice.

The server heals the prompt's last token (\`server/completion/tokenHealing.ts\`), and the FIM
figures above include it. Byte-level BPE tokenizes an indented word as \`"\\n   "\` + \`" const"\`,
so a prompt that ends in the whole indentation (\`"\\n    "\`) ends on a token boundary the
model almost never saw before a word; without healing this model proposed nothing for 8 of the 30
line snippets, and line ES was 17.7%, bracket ES 25.8% at k=2 (measured on this model the day
healing was added). The figures include the repetition prior too (\`server/completion/repetitionPrior.ts\`,
on by default for this model): tokens that followed the last four or more tokens where they occurred
earlier in the prompt get a logit bonus, since the model copies little from its context by itself.
Without it, at k=2 on these snippets: line EM 10.0% ES 32.8%, bracket EM 26.7% ES 52.3% (the last
model card's figures, the same code otherwise). These snippets are drawn with seed 7, on whose 300
snippets of each kind its match length and bonus were chosen, so the gain above is partly in-sample;
on 300 snippets of each kind (seed 7, and seeds 11 and 23, which played no part in the choice), the prior added 2.6 to 3.7 points of line
ES, 2.4 to 5.0 of bracket EM and 4.5 to 5.0 of bracket ES, and 0 to 0.3 of line EM.

Held-out files come from the same packages as the training files, so held-out figures are in-distribution.
`;
writeFileSync(outMd, card);
console.log(`wrote ${outMd}`);

/** The figures before the last training stage, from the same evaluation on the previous model file (same code, same held-out set). */
function previousSection(): string {
    if (!previousJson) return "";
    const before = JSON.parse(readFileSync(previousJson, "utf8")) as typeof ev;
    const row = (label: string, a: string, b: string) => `| ${label} | ${a} | ${b} |`;
    const at = (e: typeof ev, k: number) => ({
        bpb: e.perplexity.find((p) => p.k === k)!.bitsPerByte.toFixed(3),
        fim: e.fim.find((f) => f.k === k)!
    });
    const k = c.experts_used;
    const b = at(before, k),
        a = at(ev, k);
    return `
Before and after stage four, k=${k}, the same evaluation (this code, these held-out files) on the stage-three model file
(evaluated as \`${before.model}\`, the file this one replaced) and on this one:

| | stage three | stage four |
|---|---|---|
${[
    row("held-out bits/byte", b.bpb, a.bpb),
    row("line EM", pct(b.fim.line.exactMatch), pct(a.fim.line.exactMatch)),
    row("line ES", pct(b.fim.line.editSimilarity), pct(a.fim.line.editSimilarity)),
    row("bracket EM", pct(b.fim.bracket.exactMatch), pct(a.fim.bracket.exactMatch)),
    row("bracket ES", pct(b.fim.bracket.editSimilarity), pct(a.fim.bracket.editSimilarity)),
    ...(before.chat && ev.chat
        ? [
              row(
                  "chat: answers that end by themselves",
                  pct(before.chat.endedByThemselves),
                  pct(ev.chat.endedByThemselves)
              ),
              row("chat: stopped as repeating", pct(before.chat.stoppedRepeating), pct(ev.chat.stoppedRepeating)),
              row(
                  "chat: most times one line is shown",
                  String(before.chat.longestRepeatedLine),
                  String(ev.chat.longestRepeatedLine)
              ),
              row("chat: median length (characters)", String(before.chat.medianChars), String(ev.chat.medianChars)),
              row(
                  "chat: documentation asked, answer fenced",
                  pct(before.chat.fencedWhereCodeAsked),
                  pct(ev.chat.fencedWhereCodeAsked)
              )
          ]
        : []),
    ...(before.nextEdit && ev.nextEdit
        ? [
              ...ev.nextEdit.byKind.map((k) =>
                  row(
                      `next edit EM: ${k.kind}`,
                      pct(before.nextEdit!.byKind.find((x) => x.kind === k.kind)?.exactMatch ?? 0),
                      pct(k.exactMatch)
                  )
              ),
              row("next edit EM: all", pct(before.nextEdit.exactMatch), pct(ev.nextEdit.exactMatch)),
              row("next edit: nothing proposed", pct(before.nextEdit.nothingProposed), pct(ev.nextEdit.nothingProposed))
          ]
        : [])
].join("\n")}
`;
}

/** Chat as the editor's actions ask it, through the server's chat session (pipeline/evaluate.ts chatFigures). */
function chatSection(): string {
    if (!ev.chat) return "";
    const ch = ev.chat;
    return `
Chat, ${ch.prompts} held-out prompts of the kinds the editor's actions send (explain the selection, what a function
returns, add a documentation comment), each with the selected function attached, through the server's chat session
(the general chat format, the sampling the model card of the server shows, seeded, the answer guards), at most
${ch.maxTokens} tokens: ${pct(ch.endedByThemselves)} of the answers end by themselves, ${pct(ch.stoppedRepeating)} were stopped as repeating,
no line is shown more than ${ch.longestRepeatedLine} times, the median answer is ${ch.medianChars} characters, and
${pct(ch.fencedWhereCodeAsked)} of the documentation answers are fenced code.
`;
}

/** Next edits through the server's own proposal (pipeline/evaluate.ts nextEditFigures). */
function nextEditSection(): string {
    if (!ev.nextEdit) return "";
    const ne = ev.nextEdit;
    return `
Next edits, ${ne.cases} held-out files with an edit each, made as training makes them (\`pipeline/train/next_edits.py\`; a case a
parser finds broken is left out), through the server's own proposal (\`server/nextEdit/proposeNextEdit.ts\`: the project's
format, the candidate lines, the checks), greedy, no time budget. Exact match: the proposal gives the file with one of the
lines the edit calls for changed as it should be (location and text); ${pct(ne.nothingProposed)} of the cases got no proposal.

| kind | cases | EM |
|---|---|---|
${ne.byKind.map((k) => `| ${k.kind} | ${k.cases} | ${pct(k.exactMatch)} |`).join("\n")}
| all | ${ne.cases} | ${pct(ne.exactMatch)} (ES ${pct(ne.editSimilarity)}) |
`;
}
