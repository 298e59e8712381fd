// Number and text formatting shared by the renderers. Everything that reaches HTML goes through escapeHtml:
// model names, prompts and server messages are untrusted text.

export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON for a <script type="application/json"> block: no "</script>", no HTML comment openers, no U+2028/9. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Significant digits that read well in tables: 1234, 123.4, 12.34, 1.234. */
export function num(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 10 ** digits) return v.toFixed(0);
  if (a === 0) return '0';
  return v.toPrecision(digits).replace(/\.?0+$/, (m) => (m.startsWith('.') || m === '0' ? '' : m));
}

export function ms(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function bytes(v: number | undefined): string {
  if (v === undefined) return '–';
  const gib = v / 2 ** 30;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(v / 2 ** 20).toFixed(0)} MiB`;
}

export function percent(f: number | undefined): string {
  return f === undefined || !Number.isFinite(f) ? '–' : `${(f * 100).toFixed(1)}%`;
}

/** Markdown table cell: pipes and newlines would break the table. */
export function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Plain-text table with aligned columns, for the console. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
