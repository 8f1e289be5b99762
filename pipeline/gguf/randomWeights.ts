/**
 * Seeded random weights for the models the pipeline makes without training (test models,
 * architecture replicas, synthetic benchmark MoEs): the same seed writes the same bytes.
 */

/** mulberry32: a small seeded PRNG, so the files are byte-identical run to run. */
function rng(seed: number) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export function normalFiller(seed: number) {
    const uniform = rng(seed);
    return (n: number, std: number) => {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i += 2) {
            const u = Math.max(uniform(), 1e-12),
                v = uniform();
            const r = Math.sqrt(-2 * Math.log(u)) * std;
            out[i] = r * Math.cos(2 * Math.PI * v);
            if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
        }
        return out;
    };
}
