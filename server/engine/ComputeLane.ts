/**
 * One compute lane: at most one model evaluation at a time on the machine's cores.
 *
 * Two llama.cpp generations at once on the same cores slow each other down by up to two orders
 * of magnitude (their worker threads spin against each other), so every job that runs the model
 * goes through this lane, highest priority first, first come first served within a priority.
 * Long jobs (chat) call `turn.yieldIfWaited()` between tokens and give the lane to a waiting
 * higher-priority job (completion) by releasing and queueing again.
 */
export enum Priority {
    /** Inline completion: the user is waiting with the cursor still. */
    Completion = 0,
    Chat = 1,
    /** Warm-up, prefetch: only when nothing else waits. */
    Background = 2
}

type Waiter = { priority: Priority; seq: number; start: () => void; reject: (e: unknown) => void };

/** What a job holds while it runs: a long job calls `yieldIfWaited()` between steps. */
export type LaneTurn = {
    /** Lets queued jobs of higher priority run first, then continues. Rejects if the signal aborts meanwhile. */
    yieldIfWaited(): Promise<void>;
};

export class ComputeLane {
    private busy = false;
    private seq = 0;
    private readonly waiting: Waiter[] = [];

    /** Runs `job` when the lane is free and no higher-priority job waits. Aborting while queued removes the job. */
    async run<T>(priority: Priority, signal: AbortSignal | undefined, job: (turn: LaneTurn) => Promise<T>): Promise<T> {
        await this.acquire(priority, signal);
        let owned = true;
        const turn: LaneTurn = {
            yieldIfWaited: async () => {
                if (!this.shouldYield(priority)) return;
                owned = false;
                this.release();
                await this.acquire(priority, signal);
                owned = true;
            }
        };
        try {
            return await job(turn);
        } finally {
            if (owned) this.release();
        }
    }

    /** True when a job of higher priority than `priority` is queued: a long job should let it go first. */
    shouldYield(priority: Priority): boolean {
        return this.waiting.some((w) => w.priority < priority);
    }

    get queued(): number {
        return this.waiting.length;
    }

    private acquire(priority: Priority, signal: AbortSignal | undefined): Promise<void> {
        signal?.throwIfAborted();
        if (!this.busy && this.waiting.length === 0) {
            this.busy = true;
            return Promise.resolve();
        }
        return new Promise<void>((resolve, reject) => {
            const onAbort = () => {
                const i = this.waiting.indexOf(waiter);
                if (i >= 0) this.waiting.splice(i, 1);
                reject(signal!.reason);
            };
            const waiter: Waiter = {
                priority,
                seq: this.seq++,
                start: () => {
                    signal?.removeEventListener("abort", onAbort);
                    resolve();
                },
                reject
            };
            signal?.addEventListener("abort", onAbort, { once: true });
            this.waiting.push(waiter);
            this.waiting.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
        });
    }

    private release() {
        const next = this.waiting.shift();
        if (next)
            next.start(); // the lane stays busy: ownership passes to `next`
        else this.busy = false;
    }
}
