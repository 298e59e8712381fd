// report.md: the summary table (TGI style), per-configuration latency details, errors and warnings.
import type { ConfigResult, ResultsFile } from '../harness/output/types.ts';
import { mdCell, ms, num, percent } from './format.ts';
import { COLUMNS, reportTitle, tableRows } from './rows.ts';

export function renderMarkdown(results: ResultsFile): string {
  const out: string[] = [`# ${mdCell(reportTitle(results))}`, ''];
  if (results.scenario.description) out.push(results.scenario.description, '');
  const env = results.environment;
  out.push(
    `Scenario \`${results.scenario.name}\` (${results.scenario.file}), started ${results.startedAt}. ` +
      `Harness ${env.harnessVersion}${env.gitCommit ? ` (${env.gitCommit})` : ''}, Node ${env.node}, ${env.cpuModel} x${env.cpuCount}.`,
    '',
  );
  if (results.partial) {
    out.push(
      `> **Partial results**${results.interrupted ? ' (interrupted)' : ''}: some configurations did not complete.`,
      '',
    );
  }
  out.push(
    table(
      COLUMNS.map((c) => c.title),
      tableRows(results),
    ),
    '',
  );
  out.push(
    "Latencies in ms; TTFT and e2e count from each request's scheduled send time. Definitions: docs/metrics.md.",
    '',
  );

  out.push('## Latency details', '');
  out.push(
    table(
      ['config', 'metric', 'mean', 'p50', 'p90', 'p95', 'p99', 'max', 'n'],
      results.configs.flatMap((c) =>
        (['ttft', 'itl', 'tpot', 'e2e'] as const).map((k) => {
          const s = c.summary[k];
          return [
            c.name,
            k.toUpperCase(),
            ms(s.mean),
            ms(s.p50),
            ms(s.p90),
            ms(s.p95),
            ms(s.p99),
            ms(s.max),
            String(s.count),
          ];
        }),
      ),
    ),
    '',
  );

  const extra = results.configs.filter((c) => c.summary.goodputPerS !== undefined || c.summary.spec || c.summary.ci);
  if (extra.length > 0) {
    out.push('## Goodput, speculation, confidence', '');
    out.push(
      table(
        ['config', 'goodput (req/s)', 'good', 'SLO', 'spec acceptance', 'tok/s 95% CI'],
        extra.map((c) => [
          c.name,
          num(c.summary.goodputPerS),
          percent(c.summary.goodputFraction),
          c.summary.sloMet === undefined
            ? '–'
            : c.summary.sloMet
              ? 'met'
              : `missed: ${c.summary.sloFailures?.join('; ')}`,
          c.summary.spec
            ? `${percent(c.summary.spec.acceptance)} (${c.summary.spec.accepted}/${c.summary.spec.proposed})`
            : '–',
          c.summary.ci?.outputTokPerS
            ? `${num(c.summary.ci.outputTokPerS[0])} – ${num(c.summary.ci.outputTokPerS[1])}`
            : '–',
        ]),
      ),
      '',
    );
  }

  const problems = results.configs.filter((c) => c.status !== 'ok' || c.summary.requests.failed > 0);
  if (problems.length > 0) {
    out.push('## Errors', '');
    for (const c of problems) out.push(`- **${mdCell(c.name)}** (${c.status}): ${errorLine(c)}`);
    out.push('');
  }
  const warnings = [...results.warnings];
  if (warnings.length > 0) {
    out.push('## Warnings', '', ...warnings.map((w) => `- ${mdCell(w)}`), '');
  }
  return `${out.join('\n')}\n`;
}

export function errorLine(c: ConfigResult): string {
  const kinds = Object.entries(c.summary.errors)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  const parts = [kinds.length ? kinds.join(', ') : 'no request errors'];
  if (c.failure) parts.push(mdCell(c.failure.split('\n')[0] ?? ''));
  return parts.join('; ');
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => ' --- ').join('|')}|`, ...rows.map(line)].join('\n');
}
