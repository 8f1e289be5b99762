/**
 * Speculative decoding for a sequence: node-llama-cpp's token predictor interface (it evaluates
 * the draft with the next token in one batch, keeps the tokens the model agrees with, and erases
 * the rest; greedy output is the same as without it), with prompt-lookup drafts (lookupDraft.ts)
 * whose length the MoE-aware policy picks (draftPolicy.ts).
 *
 * The policy learns from what happens here: the time between two calls of `predictTokens` is one
 * verify step (node-llama-cpp asks for a draft before each evaluation, and none while it hands
 * out tokens it already verified), and the tokens pushed after a draft say how much of it held.
 * The experts a batch chose come from the routing trace (read without taking it from the routing
 * statistics: NativeMoeContext.peekTrace).
 */
import {
    type GgufFileInfo,
    type GgufTensorInfo,
    type Llama,
    type LlamaContext,
    type LlamaContextSequence,
    type Token,
    TokenPredictor
} from "node-llama-cpp";
import type { RoutingRow } from "../engine/addonTypes";
import { NativeMoeContext } from "../engine/nativeMoe";
import type { TypeGeometry } from "../cache/expertSlices";
import { DraftPolicy, MAX_DRAFT, type StepBytes } from "./draftPolicy";
import { type LookupMatch, lookupDraft } from "./lookupDraft";

/** One position's routing: the experts it chose in each layer (by the trace's layer index). */
type PositionRouting = Map<number, readonly number[]>;

export class LookupPredictor extends TokenPredictor {
    readonly policy: DraftPolicy;
    /** Whether drafts may be made now (off while token healing constrains the next tokens). */
    allowed: () => boolean = () => true;
    private state: Token[] = [];
    private readonly routing = new Map<number, PositionRouting>();
    /** The draft being verified, and the step it was evaluated in. */
    private pending: { draft: Token[]; matchLength: number; matched: number } | undefined;
    /** The step being evaluated: when it started, its first position and its tokens. */
    private step: { at: number; from: number; tokens: number } | undefined;
    /** The draft offered for the step being evaluated, and how many of its positions were sampled. */
    private offered: Token[] = [];
    private sampled = 0;
    /** The next evaluation is a prompt's (timed as a decode step it would teach the policy nonsense). */
    private prefill = true;

    constructor(
        bytes: StepBytes,
        /** The routing rows recorded since the last call (undefined on stock binaries: no trace). */
        private readonly newRoutingRows?: () => RoutingRow[]
    ) {
        super();
        this.policy = new DraftPolicy(bytes);
    }

    reset({ stateTokens }: { stateTokens: Token[] }) {
        // routing recorded for positions whose tokens changed is another text's
        let same = 0;
        while (same < stateTokens.length && same < this.state.length && stateTokens[same] === this.state[same]) same++;
        for (const pos of this.routing.keys()) if (pos >= same) this.routing.delete(pos);
        this.state = stateTokens.slice();
        this.pending = undefined;
        this.step = undefined;
        this.prefill = true;
    }

    pushTokens(tokens: Token[]) {
        for (const token of tokens) {
            this.state.push(token);
            const p = this.pending;
            if (!p) continue;
            const hit = token === p.draft[p.matched];
            if (hit) p.matched++;
            if (!hit || p.matched === p.draft.length) {
                this.policy.observeDraft(p.matchLength, p.draft.length, p.matched);
                this.pending = undefined;
            }
        }
    }

    predictTokens(): Token[] {
        const now = performance.now();
        const step = this.step;
        const found = this.allowed() ? lookupDraft(this.state, MAX_DRAFT) : undefined;
        // a match no draft could pay for, even one whose tokens all chose the same experts, is not costed
        const match = found && this.policy.mayPay(found.length) ? found : undefined;
        // The routing is read only when it is needed (a verify step to learn from, a draft to
        // cost): on a model small enough to sit in the caches, reading it every token costs more
        // than speculation can save. The rows wait in the runtime's ring until then.
        if ((step && step.tokens > 1) || match) this.readRouting();
        if (step) this.policy.observeStep(now - step.at, step.tokens, this.stepLoads(step.from, step.tokens));
        const draft = match ? this.draft(match) : [];
        this.step = this.prefill
            ? undefined
            : { at: performance.now(), from: this.state.length - 1, tokens: 1 + draft.length };
        this.prefill = false;
        this.offered = draft;
        this.sampled = 0;
        return draft;
    }

    /**
     * For a sampler that reads what was generated (a repeat penalty): the draft tokens before the
     * position sampled now. node-llama-cpp samples a verify batch's positions in order, each as if
     * the draft before it held (if it did not, the sample is thrown away).
     */
    draftBeforeSample(): Token[] {
        return this.offered.slice(0, this.sampled++);
    }

    private draft(match: LookupMatch): Token[] {
        // a draft outstanding (node-llama-cpp asks again before all of it was handed out) is not judged twice
        this.pending = undefined;
        // the next token is the one after the match's end; the draft, the ones after it
        const n = this.policy.choose(match.length, this.loads(match.end, match.draft.length));
        if (n === 0) return [];
        const draft = match.draft.slice(0, n);
        this.pending = { draft, matchLength: match.length, matched: 0 };
        return draft;
    }

    /**
     * Expert loads (summed over layers) of a batch of the tokens at `from`..`from + i`, for i up to
     * `extra`: the union of their experts per layer, where the trace has them; a position it has
     * not seen counts as `expertsUsed` new experts in every layer.
     */
    private loads(from: number, extra: number): number[] {
        const { layers, expertsUsed, expertCount } = this.policy.bytes;
        if (expertCount === 0) return new Array<number>(extra + 1).fill(0);
        const sets = new Map<number, Set<number>>();
        let unknown = 0;
        const out: number[] = [];
        for (let i = 0; i <= extra; i++) {
            const routing = from + i < this.state.length - 1 ? this.routing.get(from + i) : undefined;
            if (routing)
                for (const [layer, experts] of routing) {
                    const set = sets.get(layer) ?? new Set<number>();
                    for (const e of experts) set.add(e);
                    sets.set(layer, set);
                }
            else unknown++;
            let total = 0;
            for (const set of sets.values()) total += Math.min(expertCount, set.size + unknown * expertsUsed);
            total += Math.max(0, layers - sets.size) * Math.min(expertCount, unknown * expertsUsed);
            out.push(total);
        }
        return out;
    }

    /** Files the rows recorded since the last read by position. */
    private readRouting() {
        for (const row of this.newRoutingRows?.() ?? []) {
            const routing = this.routing.get(row.pos) ?? new Map<number, readonly number[]>();
            routing.set(row.layer, row.experts);
            this.routing.set(row.pos, routing);
        }
    }

    /**
     * The expert loads of the step that evaluated `tokens` positions from `from`: their experts'
     * union per layer, from the trace (a single token's are not read: its k per layer, as when
     * there is no trace).
     */
    private stepLoads(from: number, tokens: number): number {
        const { layers, expertsUsed, expertCount } = this.policy.bytes;
        const estimate = layers * Math.min(expertCount, tokens * expertsUsed);
        if (tokens === 1) return estimate;
        const sets = new Map<number, Set<number>>();
        for (let pos = from; pos < from + tokens; pos++)
            for (const [layer, experts] of this.routing.get(pos) ?? []) {
                const set = sets.get(layer) ?? new Set<number>();
                for (const e of experts) set.add(e);
                sets.set(layer, set);
            }
        if (sets.size === 0) return estimate;
        let total = 0;
        for (const set of sets.values()) total += set.size;
        return total;
    }
}

/**
 * The bytes a step reads, from the model's tensor table: every tensor once per batch except the
 * expert tensors (`*_exps`: per expert chosen) and the token embedding (a row per token, unless
 * the output layer shares it).
 */
function stepBytesOf(tensors: readonly GgufTensorInfo[], geometry: TypeGeometry, expertsUsed: number): StepBytes {
    const hasOutput = tensors.some((t) => t.name === "output.weight");
    let fixed = 0,
        expertTotal = 0,
        expertCount = 0;
    const expertLayers = new Set<string>();
    for (const t of tensors) {
        const dims = t.dimensions.map(Number);
        const g = geometry(t.ggmlType);
        const bytes = g ? (dims.reduce((a, d) => a * d, 1) / g.blockSize) * g.typeSize : 0;
        const expert = /^blk\.(\d+)\.ffn_\w+_exps\.weight$/.exec(t.name);
        if (expert) {
            expertCount = dims.at(-1)!;
            expertTotal += bytes;
            expertLayers.add(expert[1]!);
        } else if (!(t.name === "token_embd.weight" && hasOutput)) fixed += bytes;
    }
    const layers = expertLayers.size;
    return {
        fixed,
        expert: layers > 0 ? expertTotal / expertCount / layers : 0,
        layers,
        expertsUsed,
        expertCount
    };
}

/** A token that reads fewer weight bytes than this sits in the CPU's caches, or nearly: speculation costs more there than it saves. */
const MEMORY_BOUND_BYTES = 64 * 2 ** 20;

/** What a model's sequences are given: the setting (`auto`: decided by the bytes a token reads) and the model. */
export type SpeculationRequest = {
    enabled: "auto" | "on" | "off";
    llama: Llama;
    fileInfo: GgufFileInfo;
    expertsUsed: number;
};

/** Whether a model's sequences speculate, why in words, and the bytes a step reads (the draft policy's). */
export type SpeculationChoice = { on: boolean; reason: string; bytes: StepBytes };

export function speculationChoice(request: SpeculationRequest): SpeculationChoice {
    const { enabled, llama, fileInfo, expertsUsed } = request;
    const bytes = stepBytesOf(fileInfo.fullTensorInfo ?? [], NativeMoeContext.typeGeometry(llama), expertsUsed);
    const tokenBytes = bytes.fixed + bytes.expert * bytes.layers * Math.min(bytes.expertCount, expertsUsed);
    const mib = `${(tokenBytes / 2 ** 20).toFixed(tokenBytes < 2 ** 24 ? 1 : 0)} MiB`;
    if (enabled !== "auto") return { on: enabled === "on", reason: `${enabled}: moePilot.speculativeDecoding`, bytes };
    return tokenBytes >= MEMORY_BOUND_BYTES
        ? { on: true, reason: `on (auto): a token reads ${mib} of weights`, bytes }
        : {
              on: false,
              reason: `off (auto): a token reads ${mib} of weights, few enough to sit in the CPU's caches, where checking drafts costs more than it saves`,
              bytes
          };
}

/**
 * The context's sequence, with prompt-lookup speculation when `choice` says so (`auto`: when a
 * token of the model reads at least MEMORY_BOUND_BYTES; on the embedded demo model, a few MB,
 * node-llama-cpp's speculative path alone costs about 0.2 ms of a 1.7 ms step and drafts rarely
 * make it up, bench:experts); the draft policy is told the bytes a step reads, and reads `moe`'s
 * routing trace where the native runtime records one.
 */
export function sequenceOf(
    context: LlamaContext,
    choice: SpeculationChoice,
    moe?: NativeMoeContext
): LlamaContextSequence {
    if (!choice.on) return context.getSequence();
    const tokenPredictor = new LookupPredictor(choice.bytes, moe && (() => (moe.isTracing ? moe.peekTrace() : [])));
    return context.getSequence({ tokenPredictor });
}
