/**
 * The per-layer expert heatmap of the answer being written: one row per MoE layer, one column per
 * expert, darker where more of the answer's tokens went (relative to that layer's busiest expert).
 * It fills in as chunks stream (each says which experts its tokens used; native runtime only) and
 * stays until the next answer starts. Drawn on a canvas: no HTML from data, nothing to sanitize.
 */
import type { RoutingActivity } from "../../server/protocol";

export class RoutingMap {
    private layers: number[][] = [];
    private expertCount = 0;

    constructor(
        private readonly details: HTMLDetailsElement,
        private readonly canvas: HTMLCanvasElement,
        private readonly legend: HTMLElement
    ) {}

    reset() {
        this.layers = [];
        this.expertCount = 0;
        this.details.hidden = true;
    }

    add(activity: RoutingActivity) {
        if (activity.expertCount !== this.expertCount) {
            this.layers = [];
            this.expertCount = activity.expertCount;
        }
        activity.layers.forEach((counts, layer) => {
            const sum = (this.layers[layer] ??= new Array<number>(this.expertCount).fill(0));
            counts.forEach((n, e) => {
                sum[e] = (sum[e] ?? 0) + n;
            });
        });
        this.draw();
    }

    private draw() {
        const rows = this.layers.length,
            cols = this.expertCount;
        if (rows === 0 || cols === 0) return;
        this.details.hidden = false;
        const cell = Math.max(3, Math.min(16, Math.floor(256 / cols)));
        this.canvas.width = cols * cell;
        this.canvas.height = rows * cell;
        const g = this.canvas.getContext("2d");
        if (!g) return;
        const style = getComputedStyle(document.body);
        const color = style.getPropertyValue("--vscode-charts-blue").trim() || "#3794ff";
        const empty = style.getPropertyValue("--vscode-panel-border").trim() || "#80808040";
        g.clearRect(0, 0, this.canvas.width, this.canvas.height);
        for (let l = 0; l < rows; l++) {
            const counts = this.layers[l] ?? [];
            const max = Math.max(1, ...counts);
            for (let e = 0; e < cols; e++) {
                const share = (counts[e] ?? 0) / max;
                g.globalAlpha = 1;
                g.fillStyle = empty;
                g.fillRect(e * cell, l * cell, cell - 1, cell - 1);
                if (share > 0) {
                    g.globalAlpha = 0.15 + 0.85 * share;
                    g.fillStyle = color;
                    g.fillRect(e * cell, l * cell, cell - 1, cell - 1);
                }
            }
        }
        g.globalAlpha = 1;
        const uses = (this.layers[0] ?? []).reduce((a, b) => a + b, 0);
        this.legend.textContent = `Rows: ${rows} MoE layers; columns: ${cols} experts. ${uses} expert uses per layer so far; darker is busier.`;
        // the same picture in words, for screen readers
        this.canvas.setAttribute(
            "aria-label",
            this.layers
                .map((counts, l) => {
                    const top = (counts ?? [])
                        .map((n, e) => [n, e] as const)
                        .filter(([n]) => n > 0)
                        .sort((a, b) => b[0] - a[0])
                        .slice(0, 3);
                    return `layer ${l}: ${top.map(([n, e]) => `expert ${e} (${n})`).join(", ") || "none"}`;
                })
                .join("; ")
        );
    }
}
