/**
 * A small SVG line chart for the benchmark pages: panels side by side, each with its own axes,
 * a log2 or linear x axis, and series drawn as lines with dots and a legend. Plain SVG text:
 * it renders on GitHub and in VS Code's Markdown preview, and diffs as text.
 */
export type Series = { name: string; points: { x: number; y: number }[]; dashed?: boolean };
export type Panel = {
    title: string;
    xLabel: string;
    yLabel: string;
    series: Series[];
    logX?: boolean;
    yFrom0?: boolean;
    legendLeft?: boolean;
};

const COLORS = ["#2f6fd6", "#d6542f", "#2a9d55", "#8a4fd0", "#b58a00"];
const W = 420,
    H = 300,
    M = { left: 58, right: 16, top: 34, bottom: 46 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function ticks(min: number, max: number, count = 5): number[] {
    const step0 = (max - min) / count || 1;
    const mag = 10 ** Math.floor(Math.log10(step0));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
    const out: number[] = [];
    for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

function panel(p: Panel, dx: number): string {
    const xs = p.series.flatMap((s) => s.points.map((q) => q.x)),
        ys = p.series.flatMap((s) => s.points.map((q) => q.y));
    const tx = (x: number) => (p.logX ? Math.log2(x) : x);
    const x0 = Math.min(...xs.map(tx)),
        x1 = Math.max(...xs.map(tx));
    const yTicks = ticks(p.yFrom0 ? 0 : Math.min(...ys), Math.max(...ys));
    const y0 = Math.min(yTicks[0]!, p.yFrom0 ? 0 : Math.min(...ys)),
        y1 = Math.max(yTicks.at(-1)!, ...ys);
    const px = (x: number) => dx + M.left + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
    const py = (y: number) => M.top + (1 - (y - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
    const xTicks = p.logX
        ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => 2 ** (Math.ceil(x0) + i))
        : ticks(Math.min(...xs), Math.max(...xs));
    const out: string[] = [];
    out.push(`<text x="${dx + W / 2}" y="18" text-anchor="middle" font-weight="600">${esc(p.title)}</text>`);
    for (const y of yTicks)
        out.push(
            `<line x1="${dx + M.left}" x2="${dx + W - M.right}" y1="${py(y)}" y2="${py(y)}" stroke="#8884"/>`,
            `<text x="${dx + M.left - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`
        );
    for (const x of xTicks)
        out.push(`<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`);
    out.push(
        `<text x="${dx + (M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`,
        `<text transform="translate(${dx + 14},${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`
    );
    p.series.forEach((s, i) => {
        const c = COLORS[i % COLORS.length]!;
        const pts = [...s.points].sort((a, b) => a.x - b.x);
        out.push(
            `<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ` stroke-dasharray="5 4"` : ""} points="${pts.map((q) => `${px(q.x).toFixed(1)},${py(q.y).toFixed(1)}`).join(" ")}"/>`
        );
        for (const q of pts)
            out.push(`<circle cx="${px(q.x).toFixed(1)}" cy="${py(q.y).toFixed(1)}" r="3" fill="${c}"/>`);
        // the legend, top right (or left, where rising lines leave room)
        if (p.legendLeft)
            out.push(
                `<rect x="${dx + M.left + 8}" y="${M.top + 4 + i * 16}" width="10" height="10" fill="${c}"/>`,
                `<text x="${dx + M.left + 22}" y="${M.top + 13 + i * 16}">${esc(s.name)}</text>`
            );
        else
            out.push(
                `<rect x="${dx + W - M.right - 10}" y="${M.top + 4 + i * 16}" width="10" height="10" fill="${c}"/>`,
                `<text x="${dx + W - M.right - 14}" y="${M.top + 13 + i * 16}" text-anchor="end">${esc(s.name)}</text>`
            );
    });
    return out.join("\n");
}

export function lineChart(panels: Panel[]): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" viewBox="0 0 ${W * panels.length} ${H}" font-family="sans-serif" font-size="11" fill="#555">
<rect width="100%" height="100%" fill="#fff"/>
${panels.map((p, i) => panel(p, i * W)).join("\n")}
</svg>
`;
}
