// The llama2.c tokenizer (tokenizer.bin), encoding and decoding exactly as llama2.c's run.c does, so that prompt
// token counts and greedy outputs match the reference runtime token for token.
import { readFileSync, statSync } from 'node:fs';
import { BenchError } from '../errors.ts';
import { bytesAfter } from './stream.ts';
import type { Tokenizer } from './types.ts';

const BOS = 1;
const EOS = 2;
const BYTE_TOKEN_OFFSET = 3; // <0x00> is id 3 in every llama2.c / sentencepiece byte-fallback vocabulary
// run.c starts its best-merge search at -1e10, so a pair scoring at or below that never merges.
const MIN_MERGE_SCORE = -1e10;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Reads a llama2.c tokenizer.bin. `vocabSize`, when given, must equal the number of tokens in the file. */
export function loadLlama2cTokenizer(path: string, vocabSize?: number): Llama2cTokenizer {
  let data: Buffer;
  try {
    if (!statSync(path).isFile()) throw new BenchError('BAD_TOKENIZER', `tokenizer ${path} is not a file`);
    data = readFileSync(path);
  } catch (e) {
    if (e instanceof BenchError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BenchError('FILE_NOT_FOUND', `tokenizer not found: ${path}. Pass a llama2.c tokenizer.bin file.`);
    }
    throw new BenchError('BAD_TOKENIZER', `cannot read tokenizer ${path}: ${(e as Error).message}`, { cause: e });
  }
  const tok = new Llama2cTokenizer(parseTokenizerBin(data, path));
  if (vocabSize !== undefined && tok.vocabSize !== vocabSize) {
    throw new BenchError(
      'BAD_TOKENIZER',
      `tokenizer ${path} has ${tok.vocabSize} tokens but the model has a vocabulary of ${vocabSize}; ` +
        'pass the tokenizer the model was trained with (--tokenizer FILE)',
    );
  }
  return tok;
}

interface ParsedVocab {
  maxTokenLength: number;
  pieces: Uint8Array[];
  scores: Float32Array;
}

function parseTokenizerBin(data: Buffer, path: string): ParsedVocab {
  const bad = (what: string) =>
    new BenchError('BAD_TOKENIZER', `${path} is not a valid llama2.c tokenizer.bin: ${what}. Pass a tokenizer.bin.`);
  if (data.length < 4) throw bad(`file is ${data.length} bytes, too short for a header`);
  const maxTokenLength = data.readUInt32LE(0);
  if (maxTokenLength < 1 || maxTokenLength > 1 << 16) throw bad(`implausible max_token_length ${maxTokenLength}`);
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let off = 4;
  while (off < data.length) {
    const i = pieces.length;
    if (off + 8 > data.length) throw bad(`truncated in the record of token ${i} at byte ${off} (file ${data.length})`);
    const score = data.readFloatLE(off);
    const len = data.readInt32LE(off + 4);
    off += 8;
    if (len < 0 || len > maxTokenLength) throw bad(`token ${i} has length ${len} (max_token_length ${maxTokenLength})`);
    if (off + len > data.length) throw bad(`truncated in the bytes of token ${i} (file ${data.length} bytes)`);
    pieces.push(data.subarray(off, off + len));
    scores.push(score);
    off += len;
  }
  if (pieces.length < BYTE_TOKEN_OFFSET + 256) {
    throw bad(`only ${pieces.length} tokens; byte fallback needs at least ${BYTE_TOKEN_OFFSET + 256}`);
  }
  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

/** Bytes of a token as latin1 code units: concatenating two keys is the key of the concatenated bytes. */
const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos = BOS;
  readonly eos = EOS;
  readonly maxTokenLength: number;
  private readonly pieces: Uint8Array[];
  private readonly scores: Float32Array;
  private readonly keys: string[];
  private readonly ids = new Map<string, number>();
  private readonly outBytes: Uint8Array[]; // what a token prints: byte tokens give their byte, BOS/EOS nothing

  constructor(v: ParsedVocab) {
    this.vocabSize = v.pieces.length;
    this.maxTokenLength = v.maxTokenLength;
    this.pieces = v.pieces;
    this.scores = v.scores;
    this.keys = v.pieces.map(bytesKey);
    // First id wins on duplicate strings (run.c's bsearch leaves that unspecified; real vocabularies have none).
    this.keys.forEach((k, id) => {
      if (!this.ids.has(k)) this.ids.set(k, id);
    });
    this.outBytes = v.pieces.map((p, id) => {
      if (id === BOS || id === EOS) return new Uint8Array(0); // "\n<s>\n" is a control token, not text
      const m = BYTE_PIECE.exec(this.keys[id]!);
      return m ? Uint8Array.of(Number.parseInt(m[1]!, 16)) : p;
    });
  }

  /** The raw vocabulary entry (llama2.c stores sentencepiece's '▁' as a plain space). */
  piece(id: number): Uint8Array {
    return this.pieces[this.checkId(id)]!;
  }

  score(id: number): number {
    return this.scores[this.checkId(id)]!;
  }

  encode(text: string, options?: { bos?: boolean }): number[] {
    const bytes = new TextEncoder().encode(text);
    const tokens: number[] = [];
    if (options?.bos ?? true) tokens.push(BOS);
    // sentencepiece's add_dummy_prefix: a leading space so the first word is tokenized like any other word
    if (bytes.length > 0) tokens.push(this.ids.get(' ') ?? 0x20 + BYTE_TOKEN_OFFSET);
    this.pushCodepoints(bytes, tokens);
    return this.merge(tokens);
  }

  tokenBytes(id: number): Uint8Array {
    return this.outBytes[this.checkId(id)]!;
  }

  decode(ids: readonly number[], prev = -1): string {
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      parts.push(bytesAfter(this, id, prev));
      prev = id;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Buffer.concat(parts));
  }

  /** One token per UTF-8 codepoint when the vocabulary has it, else one byte token per byte (run.c's first pass). */
  private pushCodepoints(bytes: Uint8Array, out: number[]): void {
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const next = i + 1 < bytes.length ? bytes[i + 1]! : 0;
      // run.c groups a byte with following continuation bytes (10xxxxxx), at most 4 bytes in a group
      if ((next & 0xc0) === 0x80 && i + 1 - start < 4) continue;
      const id = this.ids.get(bytesKey(bytes.subarray(start, i + 1)));
      if (id !== undefined) out.push(id);
      else for (let j = start; j <= i; j++) out.push(bytes[j]! + BYTE_TOKEN_OFFSET);
      start = i + 1;
    }
  }

  /**
   * run.c repeatedly merges the adjacent pair whose concatenation is in the vocabulary with the highest score,
   * the leftmost on ties. Rescanning is O(n^2); a heap of candidate pairs over a linked list gives the same
   * sequence of merges in O(n log n). Stale heap entries are recognised by per-node version numbers.
   */
  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    if (n < 2) return tokens;
    const tok = Int32Array.from(tokens);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const version = new Uint32Array(n); // bumped when a node changes or dies: heap entries holding the old one are stale
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap();
    const consider = (left: number) => {
      const right = next[left]!;
      if (right < 0) return;
      const id = this.ids.get(this.keys[tok[left]!]! + this.keys[tok[right]!]!);
      if (id === undefined) return;
      const score = this.scores[id]!;
      if (!(score > MIN_MERGE_SCORE)) return;
      heap.push({ score, left, right, id, leftVersion: version[left]!, rightVersion: version[right]! });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let c = heap.pop(); c; c = heap.pop()) {
      const { left, right } = c;
      if (version[left] !== c.leftVersion || version[right] !== c.rightVersion) continue;
      tok[left] = c.id;
      version[left]!++;
      version[right]!++; // the right node leaves the list
      const after = next[right]!;
      next[left] = after;
      if (after >= 0) prev[after] = left;
      if (prev[left]! >= 0) consider(prev[left]!);
      consider(left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(tok[i]!);
    return out;
  }

  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new BenchError('BAD_INPUT', `token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    return id;
  }
}

interface Candidate {
  score: number;
  left: number;
  right: number;
  id: number;
  leftVersion: number;
  rightVersion: number;
}

/** Max-heap by score, then by leftmost position (run.c's strict '>' keeps the first best pair it scans). */
class PairHeap {
  private readonly a: Candidate[] = [];
  private before(x: Candidate, y: Candidate): boolean {
    return x.score > y.score || (x.score === y.score && x.left < y.left);
  }
  push(c: Candidate): void {
    const a = this.a;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Candidate | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
