/**
 * The report of "MoE Pilot: Show Expert Routing": the server's routing statistics
 * (moePilot/routing/stats) as Markdown: per workload and MoE layer, how evenly the experts are used, how often a token
 * reuses the previous token's experts, and the best hit rate a cache of C experts could reach.
 */
import type { ExpertCacheStatus, RoutingStatsResult, SpeculationStatus, WorkloadRouting } from "../server/protocol";

const pct = (x: number | undefined) => (x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);

export function routingMarkdown(stats: RoutingStatsResult, modelName: string): string {
    if (!stats.available)
        return `# Expert routing\n\n${stats.reason ?? "Not available."}\n${speculationSection(stats.speculation)}`;
    const k = stats.trainedK;
    const sizes = [1, 2, 4].map((m) => Math.min(stats.expertCount, m * k));
    const section = (title: string, w: WorkloadRouting | undefined) => {
        if (!w || w.tokens === 0) return `## ${title}\n\nNo tokens yet.\n`;
        const head = `| layer | load entropy (of ${Math.log2(stats.expertCount).toFixed(2)} bits) | previous-token overlap | ${sizes.map((c) => `best hit rate, ${c} cached`).join(" | ")} | busiest experts |`;
        const rule = `|${"---|".repeat(4 + sizes.length)}`;
        const rows = w.layers.map((l) => {
            const total = l.load.reduce((a, b) => a + b, 0) || 1;
            const busiest = l.load
                .map((n, e) => [n, e] as const)
                .sort((a, b) => b[0] - a[0])
                .slice(0, 3)
                .map(([n, e]) => `${e} (${pct(n / total)})`)
                .join(", ");
            return `| ${l.layer} | ${l.loadEntropyBits.toFixed(2)} | ${pct(l.previousTokenOverlap)} | ${sizes.map((c) => pct(l.windowHitRate?.[c])).join(" | ")} | ${busiest} |`;
        });
        const dropped = w.droppedRows
            ? `\n\n${w.droppedRows} trace rows were dropped (a prompt longer than the trace buffer).`
            : "";
        return `## ${title}\n\n${w.tokens} tokens, ${w.averageK.toFixed(2)} experts per token and layer on average.${dropped}\n\n${[head, rule, ...rows].join("\n")}\n`;
    };
    return (
        `# Expert routing: ${modelName}\n\n${stats.expertCount} experts per layer, ${k} per token as trained. ` +
        `Best hit rate: over 64-token windows, the share of expert uses that a per-layer cache holding the window's C most used experts would serve.\n\n` +
        `${cacheSection(stats.cache)}${section("Inline completion", stats.completion)}\n${section("Chat and actions", stats.chat)}` +
        speculationSection(stats.speculation)
    );
}

/** Speculative decoding on the completion sequence (server/speculation/): whether, why, how often drafts held. */
function speculationSection(s: SpeculationStatus | undefined): string {
    if (!s) return "";
    const figures =
        s.drafts > 0
            ? ` ${s.drafts} drafts verified since the load; ${s.accepted} of their ${s.drafted} tokens held (${pct(s.accepted / s.drafted)}).`
            : s.on
              ? " No drafts yet."
              : "";
    return `\n## Speculative decoding (inline completion)\n\n${s.reason[0]!.toUpperCase()}${s.reason.slice(1)}.${figures}\n`;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** The expert cache (server/cache/): whether it runs, and how well. */
function cacheSection(c: ExpertCacheStatus | undefined): string {
    if (!c) return "";
    if (c.state === "off") return `## Expert cache\n\nOff: ${c.reason ?? "not needed"}.\n\n`;
    return (
        `## Expert cache\n\nOn: the model (${mib(c.modelBytes)}) is larger than the memory budget (${mib(c.budgetBytes)}). ` +
        `${c.quotaPerLayer} experts kept per layer (${c.policy} policy), ${mib(c.pinnedBytes ?? 0)} pinned in all.\n\n` +
        `| found in memory | hit rate of the kept experts | predicted a layer ahead | read from storage per token | tokens |\n|---|---|---|---|---|\n| ${pct(c.inMemoryShare)} | ${pct(c.hitRate)} | ${pct(c.predictedShare)} | ${mib(c.diskBytesPerToken ?? 0)} | ${c.tokens ?? 0} |\n\n` +
        "Found in memory: of the bytes of the experts the layers chose, the share already in memory (kept, or still in the page cache) when their layer ran.\n\n" +
        (c.reason ? `${c.reason}\n\n` : "")
    );
}
