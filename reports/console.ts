// Console output of `bench run`: a live progress bar per configuration on a TTY (cli-progress), plain lines
// otherwise (CI logs), and the summary table at the end. It only subscribes to the run's events.
import cliProgress from 'cli-progress';
import type { ResultsFile } from '../harness/output/types.ts';
import type { RunEvents } from '../harness/run/events.ts';
import { ms, num, textTable } from './format.ts';
import { COLUMNS, tableRows } from './rows.ts';

export interface ConsoleOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  tty?: boolean; // default: out.isTTY
}

const SUMMARY_KEYS = [
  'index',
  'name',
  'gpu',
  'threads',
  'timeS',
  'speculate',
  'outputTokPerS',
  'requestPerS',
  'ttftP50Ms',
  'ttftP99Ms',
  'itlP50Ms',
  'itlP99Ms',
  'errors',
];

export function summaryTable(results: ResultsFile): string {
  const idx = SUMMARY_KEYS.map((k) => COLUMNS.findIndex((c) => c.key === k)).filter((i) => i >= 0);
  const all = tableRows(results);
  return textTable(
    idx.map((i) => (COLUMNS[i] as (typeof COLUMNS)[number]).title),
    all.map((r) => idx.map((i) => r[i] ?? '')),
  );
}

export function attachConsole(events: RunEvents, o: ConsoleOptions = {}): void {
  const out = o.out ?? process.stderr;
  const tty = o.tty ?? Boolean(out.isTTY);
  const say = (s: string) => out.write(`${s}\n`);
  let multi: cliProgress.MultiBar | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let planned: number | undefined;
  let lastPct = 0;
  let started = 0;

  events.on('run-start', ({ points, outDir }) =>
    say(`bench run: ${points.length} configuration(s), results in ${outDir}`),
  );
  events.on('target-start', ({ description }) =>
    multi ? multi.log(`starting ${description}\n`) : say(`starting ${description}`),
  );
  events.on('config-start', ({ point, configs, repeat, repeats, plannedRequests, durationMs }) => {
    done = 0;
    lastPct = 0;
    started = performance.now();
    planned = plannedRequests;
    const label = `[${point.index + 1}/${configs}] ${point.name}${repeats > 1 ? ` (repeat ${repeat + 1}/${repeats})` : ''}`;
    if (tty) {
      multi ??= new cliProgress.MultiBar(
        {
          format: ' {bar} {percentage}% | {value}/{total} requests | {label}',
          hideCursor: true,
          clearOnComplete: false,
          stream: out as NodeJS.WritableStream,
        },
        cliProgress.Presets.shades_classic,
      );
      bar = multi.create(planned ?? Math.max(1, Math.round((durationMs ?? 1000) / 1000)), 0, { label });
    } else {
      say(`${label}: ${planned !== undefined ? `${planned} requests` : `${(durationMs ?? 0) / 1000} s`}`);
    }
  });
  events.on('request', () => {
    done++;
    if (bar) {
      if (planned !== undefined) bar.update(done);
      else bar.update(Math.round((performance.now() - started) / 1000));
      return;
    }
    if (planned !== undefined) {
      const pct = Math.floor((done / planned) * 4) * 25; // a line per quarter keeps CI logs short
      if (pct > lastPct && pct < 100) {
        lastPct = pct;
        say(`  ${done}/${planned} requests`);
      }
    }
  });
  events.on('config-end', ({ result }) => {
    const s = result.summary;
    const line =
      result.status === 'failed'
        ? `  failed: ${result.failure?.split('\n')[0] ?? ''}`
        : `  ${result.status === 'partial' ? 'partial' : 'done'}: ${num(s.outputTokPerS)} tok/s, ${num(s.requestPerS)} req/s, TTFT p50 ${ms(s.ttft.p50)} ms, ITL p50 ${ms(s.itl.p50)} ms, errors ${s.requests.failed}`;
    if (bar && planned !== undefined && result.status === 'ok') bar.update(planned);
    bar?.stop();
    bar = undefined;
    if (multi) multi.log(`${result.name}${line.replace(/^ {2}/, ': ')}\n`);
    else say(line);
  });
  events.on('warning', ({ message }) => (multi ? multi.log(`warning: ${message}\n`) : say(`warning: ${message}`)));
  events.on('run-end', ({ results, files }) => {
    multi?.stop();
    multi = undefined;
    say('');
    say(summaryTable(results));
    say('');
    if (results.partial)
      say(
        results.interrupted
          ? 'interrupted: partial results written'
          : 'some configurations did not complete: results are partial',
      );
    for (const f of files) say(`wrote ${f}`);
  });
}
