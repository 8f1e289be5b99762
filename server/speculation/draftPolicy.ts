/**
 * How long a draft to verify, from what verifying costs on this model and how often drafts are
 * right. On a MoE a verify batch reads the union of the experts its tokens choose: on the
 * synthetic memory-bound MoE (64 experts, 8 used) a batch of 2 tokens takes 1.57x one token's
 * time, because the second token shares few of the first one's experts. So the cost of a draft
 * is counted in weight bytes — the fixed ones (attention, router, output layer) once per batch,
 * an expert's once per layer it is chosen in by any token of the batch — with the experts each
 * draft token will choose taken from the routing trace of the passage it was copied from (the
 * same tokens after the same text choose nearly the same experts).
 *
 * The time model, learned from the steps themselves: ms = perByte x bytes + perExtraToken x
 * (tokens − 1). Plain steps (one token) give perByte; verify steps, what the bytes do not explain
 * (compute, on a model too small to be bound by memory). The expected tokens a draft of n yields
 * is 1 + α + … + αⁿ, with α the rate at which draft tokens were right, per match length (a long
 * match is right more often), learned too. The draft is the n with the most tokens per
 * millisecond, and none when one plain token is at least as good: speculation is not to lose.
 */

/** Weight bytes a step reads: `fixed` once per batch, `expert` per expert and layer the batch chooses. */
export type StepBytes = { fixed: number; expert: number; layers: number; expertsUsed: number; expertCount: number };

/** A draft is never longer (llama.cpp's n-gram drafts stop at 16 too; past it the gain is nil). */
export const MAX_DRAFT = 12;

/** Match lengths (tokens) that begin each acceptance bucket, and the rate each starts from. */
const BUCKETS = [2, 3, 5, 9];
const PRIOR_ACCEPTANCE = [0.3, 0.5, 0.7, 0.85];
/** The prior weighs as much as this many draft outcomes; older outcomes fade by `DECAY` each. */
const PRIOR_WEIGHT = 2;
const DECAY = 0.97;
/** How fast the time model follows new steps. */
const RATE = 0.2;

export type DraftStats = { drafts: number; drafted: number; accepted: number };

export class DraftPolicy {
    private readonly acceptance = PRIOR_ACCEPTANCE.map((m) => ({
        accepted: PRIOR_WEIGHT * m,
        rejected: PRIOR_WEIGHT * (1 - m)
    }));
    private msPerByte: number | undefined;
    private msPerExtraToken = 0;
    private verified = false;
    private readonly totals: DraftStats = { drafts: 0, drafted: 0, accepted: 0 };

    constructor(readonly bytes: StepBytes) {}

    /** Bytes a batch reads whose tokens choose `expertLoads` experts summed over the layers. */
    batchBytes(expertLoads: number): number {
        return this.bytes.fixed + this.bytes.expert * expertLoads;
    }

    /** The rate draft tokens after a match of `matchLength` tokens were right. */
    acceptanceRate(matchLength: number): number {
        const b = this.acceptance[bucketOf(matchLength)]!;
        return b.accepted / (b.accepted + b.rejected);
    }

    /**
     * The draft length to verify: `loads[n]` is the expert loads (summed over layers) of a batch of
     * the next token and the first n draft tokens, for n up to the draft found. 0: no draft.
     */
    choose(matchLength: number, loads: readonly number[]): number {
        const alpha = this.acceptanceRate(matchLength);
        const perByte = this.msPerByte ?? 1;
        const time = (n: number) => perByte * this.batchBytes(loads[n]!) + this.msPerExtraToken * n;
        let best = 0,
            bestRate = 1 / time(0);
        let expected = 1,
            power = 1;
        for (let n = 1; n < loads.length && n <= MAX_DRAFT; n++) {
            power *= alpha;
            expected += power;
            const rate = expected / time(n);
            if (rate > bestRate) {
                best = n;
                bestRate = rate;
            }
        }
        return best;
    }

    /** Whether a draft after a match of `matchLength` pays at best: its tokens read no expert the next token does not. */
    mayPay(matchLength: number): boolean {
        const { layers, expertsUsed, expertCount } = this.bytes;
        const loads = layers * Math.min(expertCount, expertsUsed);
        return this.choose(matchLength, new Array<number>(MAX_DRAFT + 1).fill(loads)) > 0;
    }

    /** A draft's outcome: of `drafted` tokens after a match of `matchLength`, the first `accepted` were right. */
    observeDraft(matchLength: number, drafted: number, accepted: number) {
        for (const b of this.acceptance) {
            b.accepted *= DECAY;
            b.rejected *= DECAY;
        }
        const b = this.acceptance[bucketOf(matchLength)]!;
        b.accepted += accepted;
        if (accepted < drafted) b.rejected += 1;
        this.totals.drafts++;
        this.totals.drafted += drafted;
        this.totals.accepted += accepted;
    }

    /** A step's time: `tokens` evaluated, whose experts summed over layers were `expertLoads`. */
    observeStep(ms: number, tokens: number, expertLoads: number) {
        const bytes = this.batchBytes(expertLoads);
        if (tokens === 1) {
            const perByte = ms / bytes;
            this.msPerByte =
                this.msPerByte === undefined ? perByte : this.msPerByte + RATE * (perByte - this.msPerByte);
        } else if (this.msPerByte !== undefined) {
            const extra = Math.max(0, (ms - this.msPerByte * bytes) / (tokens - 1));
            // The first verify step is taken whole, as the first plain one is: followed from 0, a
            // CPU whose kernels cost a batch what its tokens cost one by one (compute-bound, as on
            // the AMD EPYC of bench:experts: 2 tokens 34 ms, 1 token 14) would take a dozen losing
            // verify steps to learn that drafts do not pay there.
            this.msPerExtraToken = this.verified ? this.msPerExtraToken + RATE * (extra - this.msPerExtraToken) : extra;
            this.verified = true;
        }
    }

    /** Drafts verified, tokens drafted and draft tokens accepted, since the policy was made. */
    stats(): DraftStats {
        return { ...this.totals };
    }
}

function bucketOf(matchLength: number): number {
    let b = 0;
    while (b + 1 < BUCKETS.length && matchLength >= BUCKETS[b + 1]!) b++;
    return b;
}
