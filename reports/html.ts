// report.html: one self-contained page that works offline (chart.js inlined, data inlined as JSON, a CSP that
// forbids any network access), with sortable tables and charts. Every string from results is escaped.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ConfigResult } from '../harness/output/types.ts';
import { buildCharts, type Run } from './charts.ts';
import { escapeHtml, jsonForScript, ms, num, percent } from './format.ts';
import { errorLine } from './markdown.ts';
import { COLUMNS, reportTitle } from './rows.ts';

let chartJs: string | undefined;
function chartJsSource(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  chartJs ??= readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  return chartJs;
}

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f3f3f3;cursor:pointer;user-select:none}th[data-dir=asc]::after{content:" ▲"}th[data-dir=desc]::after{content:" ▼"}
td.t,th.t{text-align:left}tr.failed td{color:#a00}tr.partial td{color:#a60}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
.chart{position:relative;height:340px;border:1px solid #eee;padding:8px}
.banner{background:#fff3cd;border:1px solid #e0c060;padding:8px 12px;margin:8px 0}
pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:400px}
details{margin:6px 0}summary{cursor:pointer}
`;

const SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById('chart-data').textContent);
  specs.forEach(function (s) {
    var el = document.getElementById('chart-' + s.id);
    var chart = new Chart(el, s.config);
    if (chart) el.setAttribute('data-drawn', '1');
  });
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, i) {
      th.addEventListener('click', function () {
        var dir = th.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
        table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[i].getAttribute('data-v'), y = b.cells[i].getAttribute('data-v');
          var nx = parseFloat(x), ny = parseFloat(y);
          var r = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
          return dir === 'asc' ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
`;

function cell(text: string, value: unknown, numeric: boolean): string {
  const v = value === undefined || value === null ? '' : String(value);
  return `<td${numeric ? '' : ' class="t"'} data-v="${escapeHtml(v)}">${escapeHtml(text)}</td>`;
}

function summaryTable(runs: Run[]): string {
  const multi = runs.length > 1;
  const head = `${multi ? '<th class="t">run</th>' : ''}${COLUMNS.map((c) => `<th${c.numeric ? '' : ' class="t"'}>${escapeHtml(c.title)}</th>`).join('')}`;
  const rows = runs.flatMap((run) =>
    run.results.configs.map(
      (c) =>
        `<tr class="${c.status}">${multi ? cell(run.label, run.label, false) : ''}${COLUMNS.map((col) => cell(col.text(c), col.value(c), col.numeric)).join('')}</tr>`,
    ),
  );
  return `<div style="overflow-x:auto"><table class="sortable" id="summary"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}

function details(run: Run, c: ConfigResult): string {
  const lat = (['ttft', 'itl', 'tpot', 'e2e', 'dispatch'] as const)
    .map((k) => {
      const s = c.summary[k];
      return `<tr>${cell(k, k, false)}${[s.mean, s.p50, s.p90, s.p95, s.p99, s.max].map((v) => cell(ms(v), v, true)).join('')}${cell(String(s.count), s.count, true)}</tr>`;
    })
    .join('');
  const client = c.repeats[0]?.client;
  const facts: [string, string][] = [
    ['status', `${c.status}${c.failure ? `: ${c.failure}` : ''}`],
    ['errors', errorLine(c)],
    [
      'tokens',
      `output ${c.summary.tokens.output}${c.summary.tokens.outputReported !== undefined ? ` (server: ${c.summary.tokens.outputReported})` : ''}, input ${c.summary.tokens.input}${c.summary.tokens.inputReported !== undefined ? ` (server: ${c.summary.tokens.inputReported})` : ''}; inexact per-chunk counts in ${c.summary.tokens.inexactRequests} requests`,
    ],
    [
      'goodput',
      c.summary.goodputPerS !== undefined
        ? `${num(c.summary.goodputPerS)} req/s (${percent(c.summary.goodputFraction)} of requests)`
        : '–',
    ],
    [
      'speculation',
      c.summary.spec
        ? `${percent(c.summary.spec.acceptance)} accepted (${c.summary.spec.accepted}/${c.summary.spec.proposed})`
        : '–',
    ],
    [
      'client',
      client
        ? `event-loop lag p99 ${ms(client.eventLoopLagP99Ms)} ms, CPU ${percent(client.cpuUtilization)}, dispatch p99 ${ms(client.dispatchP99Ms)} ms`
        : '–',
    ],
    [
      'target',
      `${c.target.kind} ${c.target.url} (${c.target.api}), model ${c.target.model ?? '–'}, tokenizer ${c.target.tokenizer.name}${c.target.tokenizer.exact ? '' : ' (approximate lengths)'}`,
    ],
  ];
  return `<details><summary>${escapeHtml(run.label ? `${run.label}: ${c.name}` : c.name)}</summary>
<table><thead><tr><th class="t">latency (ms)</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th><th>n</th></tr></thead><tbody>${lat}</tbody></table>
<table><tbody>${facts.map(([k, v]) => `<tr>${cell(k, k, false)}${cell(v, v, false)}</tr>`).join('')}</tbody></table>
${c.target.server ? `<pre>${escapeHtml(JSON.stringify(c.target.server, null, 2))}</pre>` : ''}
</details>`;
}

export function renderHtml(runs: Run[], title?: string): string {
  const first = runs[0]?.results;
  if (!first) throw new Error('renderHtml needs at least one run');
  const heading =
    title ?? (runs.length > 1 ? `bench compare: ${runs.map((r) => r.label).join(' vs ')}` : reportTitle(first));
  const charts = buildCharts(runs);
  const env = first.environment;
  const banners = runs
    .filter((r) => r.results.partial)
    .map(
      (r) =>
        `<div class="banner">Partial results${r.label ? ` (${escapeHtml(r.label)})` : ''}${r.results.interrupted ? ': interrupted' : ''}: some configurations did not complete.</div>`,
    );
  const warnings = runs.flatMap((r) =>
    r.results.warnings.map((w) => `<li>${escapeHtml(r.label ? `${r.label}: ${w}` : w)}</li>`),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(heading)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(heading)}</h1>
<p>${runs.map((r) => `${r.label ? `<b>${escapeHtml(r.label)}</b>: ` : ''}scenario <code>${escapeHtml(r.results.scenario.name)}</code>, started ${escapeHtml(r.results.startedAt)}`).join('<br>')}<br>
Harness ${escapeHtml(env.harnessVersion)}${env.gitCommit ? ` (${escapeHtml(env.gitCommit)})` : ''}, Node ${escapeHtml(env.node)}, ${escapeHtml(env.cpuModel)} x${env.cpuCount}</p>
${banners.join('\n')}
<h2>Summary</h2>
${summaryTable(runs)}
<p>Click a column to sort. Latencies in ms, counted from each request's scheduled send time (coordinated-omission correct).</p>
${warnings.length ? `<h2>Warnings</h2><ul>${warnings.join('')}</ul>` : ''}
<h2>Charts</h2>
<div class="charts">${charts.map((c) => `<div class="chart"><canvas id="chart-${escapeHtml(c.id)}" role="img" aria-label="${escapeHtml(c.title)}"></canvas></div>`).join('\n')}</div>
<h2>Details</h2>
${runs.flatMap((r) => r.results.configs.map((c) => details(r, c))).join('\n')}
${runs.map((r) => `<details><summary>Scenario source${r.label ? ` (${escapeHtml(r.label)})` : ''}</summary><pre>${escapeHtml(r.results.scenario.source)}</pre></details>`).join('\n')}
<script type="application/json" id="chart-data">${jsonForScript(charts)}</script>
<script>${chartJsSource()}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
