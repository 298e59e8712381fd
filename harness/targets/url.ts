// A remote OpenAI-compatible or TGI server. The API key is read from the environment variable the scenario names
// and only ever placed in request headers.
import { connect } from 'node:net';
import { BenchError, badInput } from '../../engine/errors.ts';
import { parsePrometheus } from '../metrics/prometheus.ts';
import type { Target } from '../scenario/schema.ts';
import { approximateTokenizer } from '../workload/tokenizer.ts';
import { publicUrl, tryGet, tryGetJson, waitForHealth } from './http.ts';
import type { StartedTarget, TargetContext } from './types.ts';

export async function startUrlTarget(target: Target, ctx: TargetContext): Promise<StartedTarget> {
  const url = new URL(target.url as string);
  if (url.username || url.password) ctx.warn('credentials in target.url are ignored; use target.apiKeyEnv');
  const baseUrl = publicUrl(url);
  const headers: Record<string, string> = {};
  if (target.apiKeyEnv) {
    const key = process.env[target.apiKeyEnv];
    if (!key)
      throw badInput(
        `environment variable ${target.apiKeyEnv} (target.apiKeyEnv) is not set; export it with the API key`,
      );
    headers.authorization = `Bearer ${key}`;
  }
  await checkReachable(url);
  if (target.health && !(await waitForHealth(`${baseUrl}/health`, performance.now() + 60_000, () => false, headers))) {
    throw new BenchError('RUNTIME', `${baseUrl}/health did not answer 200 within 60 s; is the server up?`);
  }
  let model = target.model;
  let server: Record<string, unknown> | undefined;
  if (target.api === 'tgi') {
    server = await tryGetJson(`${baseUrl}/info`, headers);
    if (!model && typeof server?.model_id === 'string') model = server.model_id;
  } else {
    const models = await tryGetJson(`${baseUrl}/v1/models`, headers);
    const first = (models?.data as { id?: string }[] | undefined)?.[0]?.id;
    if (!model && first) model = first;
    server = (await tryGetJson(`${baseUrl}/info`, headers)) ?? (models ? { models: models.data } : undefined);
  }
  const tokenizer = approximateTokenizer();
  return {
    info: {
      kind: 'url',
      url: baseUrl,
      api: target.api,
      ...(model ? { model } : {}),
      tokenizer: { name: tokenizer.name, exact: tokenizer.exact },
      ...(server ? { server } : {}),
      ...adapterOf(server),
    },
    baseUrl,
    api: target.api,
    ...(model ? { model } : {}),
    headers,
    tokenizer,
    deathReason: () => undefined,
    onDeath: () => {},
    scrapeMetrics: async () => {
      const r = await tryGet(`${baseUrl}/metrics`, headers);
      return r?.status === 200 ? parsePrometheus(r.text) : undefined;
    },
    stop: async () => {},
  };
}

/** GPU and memory where the server says (bench serve's /info extension fields; TGI reports none). */
export function adapterOf(server: Record<string, unknown> | undefined): { adapter?: string; memoryBytes?: number } {
  const out: { adapter?: string; memoryBytes?: number } = {};
  const a = server?.adapter;
  if (typeof a === 'string') out.adapter = a;
  else if (a && typeof a === 'object' && typeof (a as { name?: unknown }).name === 'string') {
    out.adapter = (a as { name: string }).name;
  }
  const mem = server?.memoryBytes ?? (server?.memory as { totalBytes?: unknown } | undefined)?.totalBytes;
  if (typeof mem === 'number') out.memoryBytes = mem;
  return out;
}

function checkReachable(url: URL): Promise<void> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const sock = connect({ host: url.hostname, port, timeout: 5000 });
    const fail = (why: string) => {
      sock.destroy();
      reject(
        new BenchError('RUNTIME', `cannot connect to ${url.host}: ${why}. Is the server running at ${publicUrl(url)}?`),
      );
    };
    sock.once('connect', () => {
      sock.end();
      resolve();
    });
    sock.once('timeout', () => fail('timed out after 5 s'));
    sock.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
  });
}
