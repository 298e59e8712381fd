// The harness verbs of `bench`: run, report, compare, gate, baseline save, schema. Each action validates its
// input once, does its work, and signals failure by throwing a BenchError whose exitCode the top-level handler
// uses (0 ok, 1 gate failed, 2 bad input, 3 runtime failure, 130 interrupted).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BenchError, badInput } from '../engine/errors.ts';
import { labelRuns, renderCompare } from '../reports/compare.ts';
import { renderHtml } from '../reports/html.ts';
import { attachConsole, renderReports, summaryTable } from '../reports/index.ts';
import { saveBaseline } from './gates/baseline.ts';
import { DEFAULT_GATES, evaluateGates, type GateResult } from './gates/gate.ts';
import { readResults, resolveResultsPath, writeFileAtomic } from './output/io.ts';
import { RunEvents } from './run/events.ts';
import { defaultOutDir, runScenario } from './run/run.ts';
import { scenarioJsonSchema } from './scenario/json-schema.ts';
import { loadScenarioFile } from './scenario/load.ts';
import { REPORT_FORMATS, type ReportFormat } from './scenario/schema.ts';
import type { TokenizerFactory } from './workload/tokenizer.ts';

/** A failed gate: exit code 1, one line per failed gate already printed. */
export class GateFailed extends BenchError {
  constructor(message: string) {
    super('RUNTIME', message);
    this.name = 'GateFailed';
  }
  override get exitCode(): number {
    return 1;
  }
}

/** Ctrl-C during a run: partial results were written; exit code 130 as shells expect. */
export class Interrupted extends BenchError {
  constructor(message: string) {
    super('RUNTIME', message);
    this.name = 'Interrupted';
  }
  override get exitCode(): number {
    return 130;
  }
}

export interface HarnessCommandOptions {
  tokenizerFor?: TokenizerFactory;
  out?: NodeJS.WritableStream & { isTTY?: boolean }; // console output (default stdout)
}

const collect = (v: string, acc: string[]) => [...acc, v];

function parseFormats(v: string | undefined): ReportFormat[] {
  if (!v) return [...REPORT_FORMATS];
  const list = v
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const bad = list.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length > 0) throw badInput(`--format ${bad.join(',')}: unknown; known: ${REPORT_FORMATS.join(', ')}`);
  return list as ReportFormat[];
}

/** `BENCH_SERVE_COMMAND='["node","other/bin/bench.js","serve"]'`: start a different `bench serve` (another build). */
function serveCommandFromEnv(): string[] | undefined {
  const v = process.env.BENCH_SERVE_COMMAND;
  if (!v) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw badInput('BENCH_SERVE_COMMAND must be a JSON array of strings, e.g. ["node","bin/bench.js","serve"]');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((s) => typeof s === 'string')) {
    throw badInput('BENCH_SERVE_COMMAND must be a non-empty JSON array of strings');
  }
  return parsed as string[];
}

function printGates(out: NodeJS.WritableStream, gates: GateResult[]): void {
  for (const g of gates) out.write(`${g.line}\n`);
}

function failIfGatesFailed(gates: GateResult[]): void {
  const failed = gates.filter((g) => !g.pass);
  if (failed.length > 0) throw new GateFailed(`${failed.length} gate(s) failed`);
}

export function registerHarnessCommands(program: Command, o: HarnessCommandOptions = {}): void {
  const out = o.out ?? process.stdout;

  program
    .command('run')
    .description('run a scenario: results.json and reports under --out (default results/<name>-<time>)')
    .argument('<scenario>', 'scenario YAML file')
    .option('--out <dir>', 'output folder')
    .option('--set <key=value>', 'override a scenario value (repeatable), e.g. --set load.concurrency=8', collect, [])
    .option('--baseline <file>', 'baseline for the scenario gates that name none')
    .action(async (file: string, opts: { out?: string; set: string[]; baseline?: string }) => {
      const loaded = loadScenarioFile(file, opts.set);
      const ac = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130); // a second Ctrl-C: stop now, results.json is already valid
        out.write('\ninterrupted: stopping requests and writing partial results (Ctrl-C again to quit now)\n');
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      const events = new RunEvents();
      attachConsole(events, { out });
      const serveCommand = serveCommandFromEnv();
      try {
        const r = await runScenario(loaded, {
          outDir: opts.out ?? defaultOutDir(loaded.scenario.name),
          events,
          signal: ac.signal,
          ...(o.tokenizerFor ? { tokenizerFor: o.tokenizerFor } : {}),
          ...(serveCommand ? { serveCommand } : {}),
          ...(opts.baseline ? { baseline: opts.baseline } : {}),
        });
        printGates(out, r.gates);
        if (r.exitCode === 130) throw new Interrupted(`interrupted; partial results in ${r.outDir}`);
        if (r.exitCode === 3) {
          const bad = r.results.configs.filter((c) => c.status !== 'ok').map((c) => `${c.name} (${c.status})`);
          throw new BenchError(
            'RUNTIME',
            `${bad.length} configuration(s) did not complete: ${bad.join(', ')}; partial results in ${r.outDir}`,
          );
        }
        failIfGatesFailed(r.gates);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('report')
    .description('re-render reports from a results.json (or its run folder)')
    .argument('<results>', 'results.json or run folder')
    .option('--format <list>', `comma-separated: ${REPORT_FORMATS.join(',')}`)
    .option('--out <dir>', 'output folder (default: the results folder)')
    .action(async (path: string, opts: { format?: string; out?: string }) => {
      const results = readResults(path);
      const dir = opts.out ?? dirname(resolveResultsPath(path));
      mkdirSync(dir, { recursive: true });
      const files = await renderReports(results, dir, parseFormats(opts.format));
      out.write(`${summaryTable(results)}\n\n${files.map((f) => `wrote ${f}`).join('\n')}\n`);
    });

  program
    .command('compare')
    .description('overlay runs in one HTML page and print ratios against the first')
    .argument('<results...>', 'two or more results.json files or run folders')
    .option('--out <dir>', 'folder for compare.html (default results/compare-<time>)')
    .action(async (paths: string[], opts: { out?: string }) => {
      if (paths.length < 2) throw badInput('compare needs at least two results (A B [...])');
      const runs = labelRuns(paths.map(resolveResultsPath), paths.map(readResults));
      const dir = opts.out ?? defaultOutDir('compare');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'compare.html');
      await writeFileAtomic(file, renderHtml(runs));
      out.write(`${renderCompare(runs)}\n\nwrote ${file}\n`);
    });

  program
    .command('gate')
    .description('check a run against a baseline (exit 1 with one line per failed gate)')
    .argument('<results>', 'results.json or run folder')
    .option('--baseline <file>', 'baseline file (bench baseline save)')
    .action(async (path: string, opts: { baseline?: string }) => {
      const results = readResults(path);
      const own = results.scenario.resolved.gates ?? [];
      const gates = own.length > 0 ? own : DEFAULT_GATES;
      if (
        !opts.baseline &&
        gates.some((g) => g.baseline === undefined && !g.between && g.max === undefined && g.min === undefined)
      ) {
        throw badInput('gate needs --baseline FILE (create one with `bench baseline save RESULTS FILE`)');
      }
      const scenarioDir = dirname(resolve(results.scenario.file));
      const r = evaluateGates(results, gates, {
        scenarioDir,
        ...(opts.baseline ? { baseline: opts.baseline } : {}),
        missingBaseline: 'error',
      });
      printGates(out, r);
      failIfGatesFailed(r);
    });

  program
    .command('baseline')
    .description('manage gate baselines')
    .command('save')
    .description('write a baseline from a run, for `bench gate --baseline`')
    .argument('<results>', 'results.json or run folder')
    .argument('<file>', 'baseline file to write')
    .action(async (path: string, file: string) => {
      const results = readResults(path);
      mkdirSync(dirname(resolve(file)), { recursive: true });
      const b = await saveBaseline(results, resolveResultsPath(path), file);
      out.write(
        `wrote ${file}: ${Object.keys(b.configs).length} configuration(s)${b.partial ? ' (from partial results)' : ''}\n`,
      );
    });

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editor completion)')
    .option('--out <file>', 'write to a file instead of stdout')
    .action((opts: { out?: string }) => {
      const text = `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, text);
      else out.write(text);
    });
}
