// The `bench` command: one entry for every verb. Engine verbs come from engine/index.ts, harness verbs from
// harness/index.ts. One top-level handler turns errors into a one-line message and an exit code
// (0 ok, 1 gate failed, 2 bad input, 3 runtime failure).
import { Command, CommanderError } from 'commander';
import { BenchError, registerEngineCommands } from '../engine/index.ts';

const program = new Command('bench')
  .description('LLM inference benchmark and load-test harness with a WebGPU reference engine')
  .exitOverride();
registerEngineCommands(program);
// Engine verbs never load the harness and report stack (chart rendering pulls a native canvas): `bench serve`
// starts faster, and a GPU machine needs only the engine's dependencies.
const ENGINE_VERBS = new Set(['info', 'generate', 'eval', 'serve', 'tokenize', 'detokenize', 'convert']);
if (!ENGINE_VERBS.has(process.argv[2] ?? '')) (await import('./index.ts')).registerHarnessCommands(program);

function fail(message: string, code: number): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
  // dawn.node keeps the event loop alive while a device exists; verbs that are done are done.
  process.exit(0);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) process.exit(0); // --help, --version
    process.exit(2); // commander already printed a one-line usage error
  }
  if (err instanceof BenchError) fail(err.message, err.exitCode);
  if (process.env.BENCH_DEBUG) console.error(err);
  fail(
    `unexpected error: ${err instanceof Error ? err.message : String(err)} (set BENCH_DEBUG=1 for a stack trace)`,
    3,
  );
}
