// Client dialects keyed by the target's `api`. An unknown kind is an error that lists the known ones.
import { badInput } from '../../engine/errors.ts';
import { openaiClient } from './openai.ts';
import { tgiClient } from './tgi.ts';
import type { ClientOptions, StreamClient } from './types.ts';

export const CLIENTS: Record<string, (opts: ClientOptions) => StreamClient> = {
  openai: openaiClient,
  tgi: tgiClient,
};

export function createClient(api: string, opts: ClientOptions): StreamClient {
  const make = CLIENTS[api];
  if (!make) throw badInput(`unknown api "${api}"; known: ${Object.keys(CLIENTS).join(', ')}`);
  return make(opts);
}

export type { ClientOptions, ErrorKind, RequestError, StreamClient, StreamOutcome } from './types.ts';
export { ERROR_KINDS } from './types.ts';
