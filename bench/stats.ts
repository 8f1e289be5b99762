/** The figures every benchmark reports the same way. */
import { distance } from "fastest-levenshtein";

/** The `p`th percentile of `xs` (nearest rank); NaN for none. */
export function percentile(xs: number[], p: number): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** 1 − Levenshtein distance over the longer length: 1 for the same text, 0 for nothing in common (CrossCodeEval's ES). */
export function editSimilarity(a: string, b: string): number {
    if (a === b) return 1;
    const longer = Math.max(a.length, b.length);
    return longer === 0 ? 1 : 1 - distance(a, b) / longer;
}
