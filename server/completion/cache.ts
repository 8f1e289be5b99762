/**
 * Completions already computed, keyed by the text around the cursor, with type-through: when the
 * user types the first characters of a suggestion they were shown, the rest of it is served from
 * the cache without running the model (what llama.vscode's client-side LRU does).
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";

export const CACHE_LIMITS = {
    entries: 256,
    /** How many typed characters a cached suggestion can be followed through. */
    typeThroughChars: 64
} as const;

const key = (prefix: string, suffix: string) =>
    createHash("sha1").update(prefix).update("\u0000").update(suffix).digest("base64");

export class CompletionCache {
    private readonly lru = new LRUCache<string, string>({ max: CACHE_LIMITS.entries });

    set(prefix: string, suffix: string, completion: string) {
        this.lru.set(key(prefix, suffix), completion);
    }

    /**
     * The completion for this exact prefix, or the remainder of one computed for a shorter
     * prefix whose suggestion starts with what was typed since. Undefined on a miss; an empty
     * string is a real answer (the model had nothing to add here).
     */
    get(prefix: string, suffix: string): string | undefined {
        const exact = this.lru.get(key(prefix, suffix));
        if (exact !== undefined) return exact;
        const limit = Math.min(CACHE_LIMITS.typeThroughChars, prefix.length);
        for (let typed = 1; typed <= limit; typed++) {
            const earlier = this.lru.get(key(prefix.slice(0, prefix.length - typed), suffix));
            if (earlier === undefined) continue;
            const typedText = prefix.slice(prefix.length - typed);
            if (earlier.length > typed && earlier.startsWith(typedText)) return earlier.slice(typed);
        }
        return undefined;
    }

    clear() {
        this.lru.clear();
    }
}
