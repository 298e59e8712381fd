// A PackPool worker (pack-pool.ts): generates and packs one noise matrix per message and sends back the packed
// words and scales, their buffers transferred to the main thread rather than copied.
import { parentPort } from 'node:worker_threads';
import { BenchError } from '../errors.ts';
import { type PackJob, type PackReply, packNoise } from './pack-pool.ts';

const port = parentPort!;
port.on('message', (job: PackJob) => {
  let reply: PackReply;
  try {
    reply = { packed: packNoise(job) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    reply = { error: { message, ...(e instanceof BenchError ? { code: e.code } : {}) } };
  }
  const transfer =
    'packed' in reply ? [reply.packed.words.buffer, ...(reply.packed.scales ? [reply.packed.scales.buffer] : [])] : [];
  port.postMessage(reply, transfer as ArrayBuffer[]);
});
