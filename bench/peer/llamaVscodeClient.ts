/**
 * The peer's client: llama.vscode's inline completion behaviour, emulated from its source
 * (ggml-org/llama.vscode: src/completion.ts, src/llama-server.ts, src/lru-cache.ts,
 * src/extra-context.ts, with its package.json defaults), so the peer is raced as its users run it:
 *
 * - the request: `POST /infill` with `input_prefix` (the 256 whole lines above the cursor),
 *   `prompt` (the cursor line up to the cursor), `input_suffix` (the rest of that line and the next
 *   64 lines), `input_extra` (the ring of chunks), `n_predict` 128, `t_max_prompt_ms` 500,
 *   `t_max_predict_ms` 500, `cache_prompt`, `n_indent`; one change: sampling is greedy (`top_k` 1)
 *   instead of top-k 40 / top-p 0.99 draws, so both sides' continuations can be compared;
 * - an LRU of 250 completions keyed by sha256(prefix|suffix|prompt), with type-through: a shorter
 *   prompt whose cached completion starts with the characters typed since is a hit;
 * - after showing a completion with nothing right of the cursor, a speculative request for the
 *   text as if it were accepted, cached for when it is (run in the gap before the next step);
 * - the ring of extra context: 64-line chunks picked around the cursor when the active file
 *   changes and when the cursor moved over 32 lines since the last pick, moved into the ring (at
 *   most 16) by the periodic update, which also warms the server's cache (`n_predict` 0). The
 *   update runs when the user pauses for 3 s; in the replay, at each change of file;
 * - the response: dropped when blank or when it repeats the text that follows
 *   (`shouldDiscardSuggestion`); only its first line when text follows the cursor.
 */
import { createHash } from "node:crypto";

const CONFIG = {
    nPrefix: 256,
    nSuffix: 64,
    nPredict: 128,
    tMaxPromptMs: 500,
    tMaxPredictMs: 500,
    maxCacheKeys: 250,
    ringChunks: 16,
    ringChunkSize: 64,
    ringScope: 1024
} as const;

export type InfillTimings = { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number };
export type PeerResult = {
    text: string;
    /** Served from the client's cache: no request reached the server. */
    cached: boolean;
    timings?: InfillTimings;
};

type Chunk = { text: string; time: number; filename: string };

export class LlamaVscodeClient {
    private cache = new Map<string, string>(); // insertion order = recency (LRU)
    private ring: Chunk[] = [];
    private queue: Chunk[] = [];
    private lastPick = { file: "", line: -1e9 };
    /** The speculative request of the last completion, awaited before the next step (the user's gap). */
    private background: Promise<unknown> = Promise.resolve();
    requests = 0;

    constructor(private readonly url: string) {}

    /** Waits for background work: called between steps, untimed (a person's pause covers it). */
    idle(): Promise<unknown> {
        return this.background;
    }

    /** The active editor changes: pick chunks of the file being left, then the periodic update runs. */
    async switchFile(leaving: { name: string; text: string; offset: number } | undefined) {
        await this.background;
        if (leaving) {
            const lines = leaving.text.split("\n");
            const line = leaving.text.slice(0, leaving.offset).split("\n").length - 1;
            this.pickChunk(lines.slice(Math.max(0, line - 32), line + 32), leaving.name);
        }
        while (this.queue.length > 0) await this.ringUpdate();
    }

    async complete(name: string, text: string, offset: number): Promise<PeerResult> {
        await this.background;
        const ctx = context(text, offset);
        const { inputPrefix, inputSuffix, prompt, lineSuffix, nindent } = ctx;
        let completion = this.lookup(inputPrefix, inputSuffix, prompt);
        let timings: InfillTimings | undefined;
        const cached = completion !== undefined;
        if (completion === undefined) {
            const res = await this.infill(inputPrefix, inputSuffix, prompt, nindent);
            timings = res.timings;
            completion = res.content;
            this.put(hashKey(inputPrefix, inputSuffix, prompt), completion);
        }
        this.afterCompletion(name, text, ctx.line);
        if (completion.trim() === "" || shouldDiscard(completion, ctx)) return { text: "", cached, timings };
        const shown = lineSuffix.trim() === "" ? completion : completion.split("\n")[0]!;
        if (lineSuffix.trim() === "")
            this.background = this.cacheFuture(inputPrefix, inputSuffix, prompt, completion).catch(() => undefined);
        return { text: shown, cached, timings };
    }

    private lookup(inputPrefix: string, inputSuffix: string, prompt: string): string | undefined {
        for (let i = prompt.length; i >= 0; i--) {
            const key = hashKey(inputPrefix, inputSuffix, prompt.slice(0, i));
            const hit = this.cache.get(key);
            if (hit === undefined) continue;
            const typed = prompt.slice(i);
            if (hit.startsWith(typed)) {
                this.cache.delete(key);
                this.cache.set(key, hit); // recency
                return hit.slice(typed.length);
            }
        }
        return undefined;
    }

    private put(key: string, value: string) {
        this.cache.delete(key);
        this.cache.set(key, value);
        if (this.cache.size > CONFIG.maxCacheKeys) this.cache.delete(this.cache.keys().next().value!);
    }

    /** llama.vscode's cacheFutureSuggestion: the completion as if accepted, asked for now. */
    private async cacheFuture(inputPrefix: string, inputSuffix: string, prompt: string, completion: string) {
        const lines = (prompt + completion).split("\n");
        const futurePrompt = lines.at(-1)!;
        let prefixLines = inputPrefix.split("\n").slice(0, -1).concat(lines.slice(0, -1));
        if (prefixLines.length > CONFIG.nPrefix) prefixLines = prefixLines.slice(prefixLines.length - CONFIG.nPrefix);
        const futurePrefix = prefixLines.length > 0 ? prefixLines.join("\n") + "\n" : "";
        const key = hashKey(futurePrefix, inputSuffix, futurePrompt);
        if (this.cache.has(key)) return;
        const indent = /^\s*/.exec(futurePrompt)![0].length;
        const res = await this.infill(futurePrefix, inputSuffix, futurePrompt, indent);
        this.put(key, res.content);
    }

    /** After a completion: chunks from far from the last pick (llama.vscode's addFimContextChunks). */
    private afterCompletion(name: string, text: string, line: number) {
        if (name === this.lastPick.file && Math.abs(line - this.lastPick.line) <= 32) return;
        const lines = text.split("\n");
        this.pickChunk(lines.slice(Math.max(0, line - CONFIG.ringScope), Math.max(0, line - CONFIG.nPrefix)), name);
        this.pickChunk(lines.slice(line + CONFIG.nSuffix, line + CONFIG.nSuffix + CONFIG.ringChunkSize), name);
        this.lastPick = { file: name, line };
    }

    private pickChunk(lines: string[], filename: string) {
        if (lines.length < 3) return;
        let picked = lines;
        if (lines.length + 1 >= CONFIG.ringChunkSize) {
            // a window of half a chunk, placed deterministically (llama.vscode draws it at random)
            const l0 = Math.floor((lines.length - CONFIG.ringChunkSize / 2) / 2);
            picked = lines.slice(l0, l0 + CONFIG.ringChunkSize / 2);
        }
        const chunk = { text: picked.join("\n") + "\n", time: Date.now(), filename };
        if ([...this.ring, ...this.queue].some((c) => c.text === chunk.text)) return;
        const similar = (c: Chunk) => jaccard(c.text, chunk.text) > 0.9;
        this.ring = this.ring.filter((c) => !similar(c));
        this.queue = this.queue.filter((c) => !similar(c));
        this.queue.push(chunk);
        if (this.queue.length > 16) this.queue.shift();
    }

    /** One tick of llama.vscode's periodic ring update: a chunk into the ring, and a cache warm-up. */
    private async ringUpdate() {
        const chunk = this.queue.shift();
        if (!chunk) return;
        this.ring.push(chunk);
        if (this.ring.length > CONFIG.ringChunks) this.ring.shift();
        await this.post({
            input_prefix: "",
            input_suffix: "",
            input_extra: this.extra(),
            prompt: "",
            n_predict: 0,
            samplers: [],
            cache_prompt: true,
            t_max_prompt_ms: CONFIG.tMaxPromptMs,
            t_max_predict_ms: 1
        });
    }

    private extra() {
        return this.ring.map((c) => ({ text: c.text, time: c.time, filename: c.filename }));
    }

    private async infill(
        inputPrefix: string,
        inputSuffix: string,
        prompt: string,
        nindent: number
    ): Promise<{ content: string; timings: InfillTimings }> {
        return (await this.post({
            input_prefix: inputPrefix,
            input_suffix: inputSuffix,
            input_extra: this.extra(),
            prompt,
            n_predict: CONFIG.nPredict,
            top_k: 1,
            samplers: ["top_k"],
            stream: false,
            cache_prompt: true,
            ...(nindent ? { n_indent: nindent } : {}),
            t_max_prompt_ms: CONFIG.tMaxPromptMs,
            t_max_predict_ms: CONFIG.tMaxPredictMs
        })) as { content: string; timings: InfillTimings };
    }

    private async post(body: object): Promise<unknown> {
        this.requests++;
        const res = await fetch(`${this.url}/infill`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body)
        });
        if (!res.ok) throw new Error(`llama-server /infill: HTTP ${res.status}: ${await res.text()}`);
        return await res.json();
    }
}

type Context = {
    inputPrefix: string;
    inputSuffix: string;
    prompt: string;
    lineSuffix: string;
    nindent: number;
    line: number;
    nextLines: string[];
};

/** How llama.vscode cuts the document at the cursor. */
function context(text: string, offset: number): Context {
    const lines = text.split("\n");
    const line = text.slice(0, offset).split("\n").length - 1;
    const lineStart = offset - text.slice(0, offset).split("\n").at(-1)!.length;
    const current = lines[line]!;
    const prompt = current.slice(0, offset - lineStart);
    const lineSuffix = current.slice(offset - lineStart);
    const prefixLines = lines.slice(Math.max(0, line - CONFIG.nPrefix), line);
    const suffixLines = lines.slice(line + 1, line + 1 + CONFIG.nSuffix);
    return {
        inputPrefix: prefixLines.length > 0 ? prefixLines.join("\n") + "\n" : "",
        inputSuffix: lineSuffix + "\n" + suffixLines.join("\n") + "\n",
        prompt,
        lineSuffix,
        line,
        nindent: /^\s*/.exec(current)![0].length,
        nextLines: suffixLines
    };
}

/** llama.vscode's shouldDiscardSuggestion: a suggestion that repeats what follows is not shown. */
function shouldDiscard(completion: string, ctx: Context): boolean {
    const lines = completion.split("\n");
    while (lines.length > 1 && lines.at(-1)!.trim() === "") lines.pop();
    if (lines.length === 1 && lines[0]!.trim() === "") return true;
    if (lines[0] === ctx.lineSuffix) return true;
    const nextNonEmpty = ctx.nextLines.find((l) => l.trim() !== "");
    if (nextNonEmpty !== undefined && (ctx.prompt + lines[0]).trim() === nextNonEmpty.trim() && lines.length === 1)
        return true;
    if (lines[0]!.trim() === "" && lines.length > 1 && lines.slice(1).every((l, i) => l === ctx.nextLines[i]))
        return true;
    return false;
}

function hashKey(prefix: string, suffix: string, prompt: string): string {
    return createHash("sha256")
        .update(prefix + "|" + suffix + "|" + prompt)
        .digest("hex");
}

function jaccard(a: string, b: string): number {
    const sa = new Set(a.split("\n")),
        sb = new Set(b.split("\n"));
    let inter = 0;
    for (const x of sa) if (sb.has(x)) inter++;
    return inter / (sa.size + sb.size - inter || 1);
}
