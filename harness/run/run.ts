// `bench run`: every configuration of a scenario against its target, results.json rewritten atomically after each
// configuration (so an interrupted or crashed run still leaves valid, partial results), then reports and gates.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from '../../engine/errors.ts';
import { renderReports } from '../../reports/index.ts';
import { evaluateScenarioGates, type GateResult } from '../gates/gate.ts';
import { aggregate } from '../metrics/aggregate.ts';
import { encodeSet, newHistogramSet } from '../metrics/histogram.ts';
import { environment } from '../output/environment.ts';
import { writeResults } from '../output/io.ts';
import { type ConfigResult, RESULTS_KIND, RESULTS_SCHEMA_VERSION, type ResultsFile } from '../output/types.ts';
import type { ConfigPoint, LoadedScenario } from '../scenario/load.ts';
import type { ReportFormat } from '../scenario/schema.ts';
import { startTarget, targetKind } from '../targets/index.ts';
import type { StartedTarget } from '../targets/types.ts';
import { presetTokenizers, type TokenizerFactory } from '../workload/tokenizer.ts';
import { runConfig } from './config.ts';
import { RunEvents } from './events.ts';

export interface RunOptions {
  outDir?: string;
  events?: RunEvents;
  signal?: AbortSignal; // Ctrl-C: abort in-flight requests, write partial results
  tokenizerFor?: TokenizerFactory;
  serveCommand?: string[];
  keepChunks?: boolean;
  formats?: ReportFormat[];
  baseline?: string; // --baseline for the scenario's gates
}

export interface RunOutcome {
  results: ResultsFile;
  outDir: string;
  files: string[];
  gates: GateResult[];
  /** 0 ok, 1 a gate failed, 3 a configuration failed or its server died, 130 interrupted. */
  exitCode: number;
}

export function defaultOutDir(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('results', `${name}-${stamp}`);
}

export async function runScenario(loaded: LoadedScenario, opts: RunOptions = {}): Promise<RunOutcome> {
  const s = loaded.scenario;
  const outDir = opts.outDir ?? defaultOutDir(s.name);
  mkdirSync(outDir, { recursive: true });
  const events = opts.events ?? new RunEvents();
  const signal = opts.signal ?? new AbortController().signal;
  const results: ResultsFile = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    kind: RESULTS_KIND,
    partial: true, // until the last configuration is written
    interrupted: false,
    startedAt: new Date().toISOString(),
    scenario: {
      name: s.name,
      ...(s.report.title ? { title: s.report.title } : {}),
      ...(s.description ? { description: s.description } : {}),
      file: loaded.file,
      sets: loaded.sets,
      source: loaded.source,
      resolved: s,
    },
    environment: environment(),
    configs: [],
    warnings: [],
  };
  events.on('warning', ({ message }) => results.warnings.push(message));
  await writeResults(outDir, results);
  events.emit('run-start', { results, points: loaded.points, outDir });

  let current: { key: string; target: StartedTarget } | undefined;
  try {
    for (const point of loaded.points) {
      if (signal.aborted) break;
      const key = JSON.stringify(point.scenario.target);
      if (current && (current.key !== key || current.target.deathReason())) {
        await current.target.stop();
        current = undefined;
      }
      if (!current) {
        events.emit('target-start', { point, description: describeTarget(point) });
        try {
          const target = await startTarget(
            point.scenario.target,
            {
              tokenizerFor: opts.tokenizerFor ?? presetTokenizers,
              ...(opts.serveCommand ? { serveCommand: opts.serveCommand } : {}),
              logDir: outDir,
              scenarioDir: loaded.dir,
              warn: (message) => events.emit('warning', { message }),
              signal,
            },
            point.index,
          );
          current = { key, target };
        } catch (e) {
          if (e instanceof BenchError && e.exitCode === 2 && targetKind(point.scenario.target) === 'url') throw e;
          const failed = failedConfig(point, e instanceof Error ? e.message : String(e));
          results.configs.push(failed);
          await writeResults(outDir, results);
          events.emit('config-end', { point, result: failed });
          continue;
        }
      }
      const result = await runConfig(point, current.target, {
        scenarioDir: loaded.dir,
        configs: loaded.points.length,
        events,
        abort: signal,
        ...(opts.keepChunks ? { keepChunks: true } : {}),
      });
      results.configs.push(result);
      await writeResults(outDir, results);
      events.emit('config-end', { point, result });
    }
  } finally {
    await current?.target.stop();
  }

  results.interrupted = signal.aborted;
  results.partial =
    results.interrupted ||
    results.configs.length < loaded.points.length ||
    results.configs.some((c) => c.status !== 'ok');
  results.finishedAt = new Date().toISOString();
  await writeResults(outDir, results);
  // results.json is always written (above); the other formats are rendered from it.
  const formats = (opts.formats ?? s.report.formats).filter((f) => f !== 'json');
  const files = [join(outDir, 'results.json'), ...(await renderReports(results, outDir, formats))];
  const gates = results.interrupted ? [] : evaluateScenarioGates(results, s.gates, loaded.dir, opts.baseline);
  events.emit('run-end', { results, outDir, files });
  const exitCode = results.interrupted ? 130 : results.partial ? 3 : gates.some((g) => !g.pass) ? 1 : 0;
  return { results, outDir, files, gates, exitCode };
}

function describeTarget(point: ConfigPoint): string {
  const t = point.scenario.target;
  return t.engine ? `bench serve --model ${t.engine.model}` : `${t.url} (${t.api})`;
}

/** A configuration whose target could not start: no measurements, the reason kept for the report. */
function failedConfig(point: ConfigPoint, reason: string): ConfigResult {
  const t = point.scenario.target;
  return {
    index: point.index,
    name: point.name,
    overrides: point.overrides,
    status: 'failed',
    failure: reason,
    target: {
      kind: t.engine ? 'engine' : 'url',
      url: t.url ?? '',
      api: t.engine ? 'openai' : t.api,
      ...(t.engine ? { model: t.engine.model, engine: { ...t.engine } } : t.model ? { model: t.model } : {}),
      tokenizer: { name: 'none', exact: false },
    },
    load: point.scenario.load,
    workload: point.scenario.workload,
    summary: aggregate([], []),
    histograms: encodeSet(newHistogramSet()),
    repeats: [],
    requests: [],
  };
}
