// Public surface of the harness (DESIGN.md rule 12): the CLI entry and other folders import only from here.
import type { Command } from 'commander';
import { type HarnessCommandOptions, registerHarnessCommands as register } from './commands.ts';
import { byteLevelTokenizer, engineTokenizer, type TokenizerFactory } from './workload/tokenizer.ts';

/**
 * Exact prompt lengths for engine targets: presets use the byte-level tokenizer (one token per UTF-8 byte plus
 * BOS); checkpoints use their own tokenizer through engine/index.ts, imported only when needed so that the
 * harness process never loads the GPU stack for remote targets.
 */
export const defaultTokenizers: TokenizerFactory = async (model) => {
  if (model.startsWith('preset:')) return byteLevelTokenizer(true);
  const engine = await import('../engine/index.ts');
  return engineTokenizer(await engine.loadTokenizer(model)); // the tokenizer alone, not the weights
};

/** Adds run, report, compare, gate, baseline save and schema to the `bench` program. */
export function registerHarnessCommands(program: Command, o: HarnessCommandOptions = {}): void {
  register(program, { tokenizerFor: defaultTokenizers, ...o });
}

export { GateFailed, Interrupted } from './commands.ts';
export { evaluateGates, type GateResult } from './gates/gate.ts';
export { readResults, writeResults } from './output/io.ts';
export type { ConfigResult, ResultsFile } from './output/types.ts';
export { RunEvents } from './run/events.ts';
export { type RunOptions, type RunOutcome, runScenario } from './run/run.ts';
export { scenarioJsonSchema } from './scenario/json-schema.ts';
export { type LoadedScenario, loadScenarioFile, loadScenarioText } from './scenario/load.ts';
export type { Scenario } from './scenario/schema.ts';
