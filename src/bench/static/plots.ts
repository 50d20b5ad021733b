// Grouped bar charts with confidence-interval whiskers, as inline SVG (no plotting service).
export interface Bar {
  label: string;
  value: number;
  lo?: number;
  hi?: number;
}
export interface BarGroup {
  label: string;
  bars: Bar[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Groups along x, one coloured bar per series label inside each group; whiskers at [lo, hi]. */
export function barChartSvg(
  groups: BarGroup[],
  o: { title: string; yLabel: string; width?: number; height?: number /** the y axis reaches at least this */; minTop?: number },
): string {
  const W = o.width ?? 900,
    H = o.height ?? 420,
    m = { l: 60, r: 220, t: 40, b: 70 };
  const labels = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.label)))];
  const top = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.hi ?? b.value))).filter(Number.isFinite));
  const yMax = Math.max(top * 1.1, o.minTop ?? 0);
  const sy = (v: number) => H - m.b - (v / yMax) * (H - m.t - m.b);
  const gw = (W - m.l - m.r) / Math.max(1, groups.length),
    bw = (gw * 0.8) / Math.max(1, labels.length);
  const p: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(W - m.r + m.l) / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    p.push(
      `<line x1="${m.l}" y1="${sy(v).toFixed(1)}" x2="${W - m.r}" y2="${sy(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${m.l - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const x0 = m.l + gi * gw + gw * 0.1;
    g.bars.forEach((b) => {
      const li = labels.indexOf(b.label),
        x = x0 + li * bw,
        c = COLORS[li % COLORS.length];
      if (Number.isFinite(b.value))
        p.push(
          `<rect x="${x.toFixed(1)}" y="${sy(b.value).toFixed(1)}" width="${(bw * 0.9).toFixed(1)}" height="${(H - m.b - sy(b.value)).toFixed(1)}" fill="${c}"><title>${esc(`${g.label} / ${b.label}: ${b.value.toFixed(3)}`)}</title></rect>`,
        );
      if (b.lo !== undefined && b.hi !== undefined && Number.isFinite(b.lo) && Number.isFinite(b.hi)) {
        const cx = (x + bw * 0.45).toFixed(1);
        p.push(
          `<line x1="${cx}" y1="${sy(b.lo).toFixed(1)}" x2="${cx}" y2="${sy(b.hi).toFixed(1)}" stroke="#222" stroke-width="1.4"/>`,
          `<line x1="${(x + bw * 0.25).toFixed(1)}" y1="${sy(b.lo).toFixed(1)}" x2="${(x + bw * 0.65).toFixed(1)}" y2="${sy(b.lo).toFixed(1)}" stroke="#222"/>`,
          `<line x1="${(x + bw * 0.25).toFixed(1)}" y1="${sy(b.hi).toFixed(1)}" x2="${(x + bw * 0.65).toFixed(1)}" y2="${sy(b.hi).toFixed(1)}" stroke="#222"/>`,
        );
      }
    });
    p.push(
      `<text x="${(m.l + gi * gw + gw / 2).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle" font-size="11">${esc(g.label)}</text>`,
    );
  });
  p.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${esc(o.yLabel)}</text>`,
  );
  labels.forEach((l, i) =>
    p.push(
      `<rect x="${W - m.r + 14}" y="${m.t + 6 + i * 18}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${W - m.r + 32}" y="${m.t + 16 + i * 18}">${esc(l)}</text>`,
    ),
  );
  p.push('</svg>');
  return p.join('\n') + '\n';
}
