// `bench serve` once the engine is built: start the server, say where it listens, and shut down gracefully on
// SIGINT/SIGTERM (running streams finish within the grace period or are cancelled; then the engine is closed).
// A second signal while shutting down exits at once.
import type { Engine } from '../runtime/types.ts';
import { type ServerHandle, type ServerOptions, startServer } from './server.ts';

export async function serveUntilSignal(
  engine: Engine,
  opts: ServerOptions,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<void> {
  let server: ServerHandle;
  try {
    server = await startServer(engine, opts);
  } catch (err) {
    await engine.close();
    throw err;
  }
  out(`listening on ${server.url} (model ${opts.modelName ?? engine.info.name}; Ctrl-C to stop)`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const force = (): never => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  out(`${signal}: finishing running requests, then stopping`);
  await server.close();
  await engine.close();
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
  out('stopped');
}
