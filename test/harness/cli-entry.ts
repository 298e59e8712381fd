// Test-only `bench` entry with just the harness verbs and the same top-level error handling as harness/cli.ts
// (one line on stderr, the BenchError's exit code), so the verbs can be tested as a user runs them.
import { Command, CommanderError } from 'commander';
import { BenchError } from '../../engine/errors.ts';
import { registerHarnessCommands } from '../../harness/index.ts';

const program = new Command('bench').exitOverride();
registerHarnessCommands(program);
try {
  await program.parseAsync(process.argv);
  process.exit(0);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof BenchError) {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`bench: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(3);
}
