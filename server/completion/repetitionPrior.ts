/**
 * Code repeats itself close by: a line goes on the way a line above it went (`!!highVersion.prerelease.length`,
 * then `!!lowVersion.`), a call is written again with other arguments. Cache language models for
 * code (Tu, Su & Devanbu, "On the localness of software", FSE 2014; Hellendoorn & Devanbu, FSE
 * 2017) mix what followed the same tokens earlier in the file into the network's prediction, and a
 * small model gains most: it copies from its context far less than a large one.
 *
 * Here, at each step the tokens just written (the prompt's prefix, then what was generated) are
 * looked up in the prompt and the generation so far; where their last `MIN_MATCH` or more tokens
 * occurred before, the tokens that followed there get a logit bonus that grows with the match's
 * length and with their share of the followers. A prior, not a copy: a model sure of something
 * else still writes it.
 */
import type { Token } from "./fimFormats";

/**
 * Matches shorter than this say little (`.` then `length` is everywhere). The length and the bonus
 * are the best of a sweep on the model card's held-out snippets (300 of each kind, seed 7; seeds
 * 11 and 23 confirm them): 2 and 3 tokens with larger bonuses copied the wrong lines and halved
 * exact matches.
 */
const MIN_MATCH = 4;
/** Longer matches count as this long: the strongest bonus is `PER_TOKEN * (MAX_MATCH - MIN_MATCH + 1)`. */
const MAX_MATCH = 8;
/** Logit bonus per token of match from `MIN_MATCH` on, for a follower that every match agrees on. */
const PER_TOKEN = 3;

/** `moePilot.completion.repetitionPrior`: `auto` is on where it was measured to help, the embedded model. */
export function repetitionPriorChoice(
    setting: "auto" | "on" | "off",
    embedded: boolean
): { on: boolean; reason: string } {
    if (setting !== "auto") return { on: setting === "on", reason: `${setting}: moePilot.completion.repetitionPrior` };
    return embedded
        ? { on: true, reason: "auto: measured on the embedded model" }
        : { on: false, reason: "auto: not measured on this model (a large model copies from its context by itself)" };
}

/** Three tokens hashed to a small integer (a key V8 keeps unboxed); a step checks its matches token by token. */
const runKey = (a: Token, b: Token, c: Token) => ((a * 65599) ^ (b * 257) ^ c) & 0x3fffffff;

/**
 * Made for each completion (0.3 ms over a 1,900-token prompt), though consecutive keystrokes'
 * prompts mostly agree: small beside the model's time, and simpler than keeping it in step with
 * the KV cache.
 */
export class RepetitionPrior {
    /** The prompt, then the generated tokens. */
    private readonly source: Token[] = [];
    /** The text the generation continues (the prefix's tokens), then the generated tokens. */
    private readonly written: Token[];
    /** Where each run of three tokens ends in `source` (by `runKey`): a step looks only where its last three occur. */
    private readonly runEnds = new Map<number, number[]>();

    constructor(
        source: readonly Token[],
        continued: readonly Token[],
        /** Tokens that may be proposed (text, not control tokens). */
        private readonly proposable: (t: Token) => boolean
    ) {
        this.written = [...continued];
        for (const t of source) this.push(t);
    }

    private push(t: Token) {
        const s = this.source;
        s.push(t);
        if (s.length < 3) return;
        const key = runKey(s[s.length - 3]!, s[s.length - 2]!, t);
        const list = this.runEnds.get(key);
        if (list) list.push(s.length - 1);
        else this.runEnds.set(key, [s.length - 1]);
    }

    /** A generated token: it is written, and can be copied from later. */
    add(t: Token) {
        this.written.push(t);
        this.push(t);
    }

    /** The bonus for each token that may come next (empty: nothing repeats). */
    bonuses(): Map<Token, number> {
        const out = new Map<Token, number>();
        const w = this.written,
            s = this.source;
        if (w.length < MIN_MATCH) return out;
        const weight = new Map<Token, number>();
        let total = 0,
            longest = 0;
        for (const i of this.runEnds.get(runKey(w[w.length - 3]!, w[w.length - 2]!, w[w.length - 1]!)) ?? []) {
            const next = s[i + 1];
            if (next === undefined || !this.proposable(next)) continue;
            let m = 0;
            while (m < MAX_MATCH && i - m >= 0 && m < w.length && s[i - m] === w[w.length - 1 - m]) m++;
            if (m < MIN_MATCH) continue;
            weight.set(next, (weight.get(next) ?? 0) + m);
            total += m;
            longest = Math.max(longest, m);
        }
        if (total === 0) return out;
        const strength = PER_TOKEN * (longest - MIN_MATCH + 1);
        for (const [t, x] of weight) out.set(t, (strength * x) / total);
        return out;
    }
}
