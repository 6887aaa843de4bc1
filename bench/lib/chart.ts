import type { BenchResults } from './report.js';
import { find } from './report.js';

const CHART_LABELS: Record<string, string> = {
  'catalog-gateway': 'catalog page, via gateway',
  'catalog-direct': 'catalog page, direct',
  'catalog-deep': 'deep page (cursor), via gateway',
  search: 'search q, via gateway',
  'product-by-id': 'product by id, via gateway',
  orders: 'POST /orders, via gateway',
  'catalog-1k': 'catalog page at 1,000 products',
  'catalog-10k': 'catalog page at 10,000 products',
};

const COLORS = { ours: '#2f6fdf', reference: '#9aa3ad' };
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Throughput and p99 of every scenario at the highest connection count, ours beside the
 * reference, as a self-contained SVG (no fonts or scripts to fetch).
 */
export function renderChart(results: BenchResults): string {
  const c = Math.max(...results.settings.connections);
  // Only what has a reference to stand beside; the calibration goes in the title.
  const rows = Object.entries(CHART_LABELS)
    .map(([scenario, title]) => ({
      title,
      ours: find(results, scenario, 'ours', /^catalog-\d+k$/.test(scenario) ? undefined : c),
      reference: find(results, scenario, 'reference', /^catalog-\d+k$/.test(scenario) ? undefined : c),
    }))
    .filter((row) => row.ours && row.reference);
  const bare = find(results, 'bare', 'bare', c);
  const label = 250;
  const panel = 280;
  const gap = 40;
  const rowHeight = 34;
  const top = 66;
  const width = label + 2 * panel + gap + 30;
  const height = top + rows.length * rowHeight + 40;
  const maxRps = Math.max(...rows.flatMap((row) => [row.ours?.load.rps ?? 0, row.reference?.load.rps ?? 0]));
  const maxP99 = Math.max(1, ...rows.flatMap((row) => [row.ours?.load.p99 ?? 0, row.reference?.load.p99 ?? 0]));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Mini eCommerce vs the minimal reference stack, ${c} connections (${escape(results.date.slice(0, 10))})</text>`,
    `<text x="10" y="38" font-size="11" fill="#555">${results.settings.products.toLocaleString('en')} products; this machine's ceiling (bare node:http): ${bare ? Math.round(bare.load.rps).toLocaleString('en') : '?'} req/s</text>`,
    `<text x="${label}" y="${top - 6}" font-weight="bold">requests per second (higher is better)</text>`,
    `<text x="${label + panel + gap}" y="${top - 6}" font-weight="bold">p99 latency, ms (lower is better)</text>`,
  ];
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    parts.push(`<text x="${label - 8}" y="${y + 16}" text-anchor="end">${escape(row.title)}</text>`);
    (['ours', 'reference'] as const).forEach((stack, bar) => {
      const run = row[stack];
      if (!run) return;
      const by = y + bar * 13;
      const w = (run.load.rps / maxRps) * (panel - 60);
      const w99 = (run.load.p99 / maxP99) * (panel - 60);
      const fill = COLORS[stack];
      parts.push(`<rect x="${label}" y="${by}" width="${w.toFixed(1)}" height="11" fill="${fill}"/>`);
      parts.push(
        `<text x="${(label + w + 4).toFixed(1)}" y="${by + 10}" font-size="10">${Math.round(run.load.rps).toLocaleString('en')}</text>`,
      );
      const x99 = label + panel + gap;
      parts.push(`<rect x="${x99}" y="${by}" width="${w99.toFixed(1)}" height="11" fill="${fill}"/>`);
      parts.push(`<text x="${(x99 + w99 + 4).toFixed(1)}" y="${by + 10}" font-size="10">${run.load.p99}</text>`);
    });
  });
  const legendY = height - 14;
  parts.push(
    `<rect x="${label}" y="${legendY - 10}" width="12" height="12" fill="${COLORS.ours}"/><text x="${label + 18}" y="${legendY}">ours</text>`,
  );
  parts.push(
    `<rect x="${label + 70}" y="${legendY - 10}" width="12" height="12" fill="${COLORS.reference}"/><text x="${label + 88}" y="${legendY}">reference</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
