// An independent, deliberately naive transcription of llama2.c run.c's tokenizer (build_tokenizer + encode),
// used as the expected-value oracle for the fast implementation. It shares no code with engine/tokenizer.
import { readFileSync } from 'node:fs';

export interface RefVocab {
  pieces: Buffer[];
  scores: number[];
  lookup: Map<string, number>; // hex of the bytes -> id (run.c's sorted_vocab + bsearch)
}

export function readRefVocab(path: string): RefVocab {
  const b = readFileSync(path);
  const pieces: Buffer[] = [];
  const scores: number[] = [];
  let o = 4; // skip max_token_length
  while (o < b.length) {
    scores.push(b.readFloatLE(o));
    const len = b.readInt32LE(o + 4);
    pieces.push(b.subarray(o + 8, o + 8 + len));
    o += 8 + len;
  }
  const lookup = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!lookup.has(p.toString('hex'))) lookup.set(p.toString('hex'), i);
  });
  return { pieces, scores, lookup };
}

/** run.c encode(): O(n^2) rescans, exactly as the C code does them. */
export function referenceEncode(v: RefVocab, text: string, bos: boolean): number[] {
  const str = (bytes: number[]) => Buffer.from(bytes).toString('hex');
  const find = (hex: string) => v.lookup.get(hex) ?? -1;
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  const c = [...Buffer.from(text, 'utf8'), 0]; // C string: NUL-terminated
  if (c[0] !== 0) tokens.push(find(str([0x20])));
  let buf: number[] = [];
  for (let i = 0; c[i] !== 0; i++) {
    if ((c[i]! & 0xc0) !== 0x80) buf = [];
    buf.push(c[i]!);
    if ((c[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = find(str(buf));
    if (id !== -1) tokens.push(id);
    else for (const byte of buf) tokens.push(byte + 3);
    buf = [];
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const merged = Buffer.concat([v.pieces[tokens[i]!]!, v.pieces[tokens[i + 1]!]!]).toString('hex');
      const id = find(merged);
      if (id !== -1 && v.scores[id]! > bestScore) {
        bestScore = v.scores[id]!;
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
}

/** Deterministic generator (mulberry32) so a failing random case can be reproduced. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
