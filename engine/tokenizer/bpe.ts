// Byte-level BPE (GPT-2 family, llama.cpp's "gpt2" vocab): pre-tokenize with the model's regexes, map each word's
// UTF-8 bytes to GPT-2's printable characters, then apply merges lowest rank first (leftmost on ties).

import { byteDecode, byteEncode, type PreTokenizerSpec, preTokenize } from './pretokenize.ts';
import type { EncodeOptions } from './spm.ts';
import type { Tokenizer } from './types.ts';
import { decodeBytes, Heap, partitionSpecial, type SpecialConfig, TokenAttr, utf8Bytes, type Vocab } from './vocab.ts';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

const bigramOrder = (a: Bigram, b: Bigram): boolean => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

/** Merge ranks keyed by "left right", and the merge loop shared by the GGUF and tokenizer.json tokenizers. */
export class BpeMerges {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  /** `merges` as GGUF and older tokenizer.json files store them: "left right", one space between. */
  constructor(merges: readonly (string | readonly [string, string])[]) {
    for (let i = 0; i < merges.length; i++) {
      const m = merges[i]!;
      const key = typeof m === 'string' ? m : `${m[0]} ${m[1]}`;
      if (!this.ranks.has(key)) this.ranks.set(key, i);
    }
  }

  get size(): number {
    return this.ranks.size;
  }

  /** The merges in rank order, as GGUF stores them. */
  list(): string[] {
    return [...this.ranks.keys()];
  }

  rank(left: string, right: string): number | undefined {
    return this.ranks.get(`${left} ${right}`);
  }

  /** Splits `word` into characters and merges them; returns the final symbols. */
  merge(word: string): string[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const syms = Array.from(word);
    const prev = syms.map((_, i) => i - 1);
    const next = syms.map((_, i) => (i + 1 < syms.length ? i + 1 : -1));
    const queue = new Heap<Bigram>(bigramOrder);
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const rank = this.ranks.get(`${syms[left]} ${syms[right]}`);
      if (rank !== undefined) queue.push({ left, right, rank, text: syms[left]! + syms[right]! });
    };
    for (let i = 1; i < syms.length; i++) tryAdd(i - 1, i);
    for (let b = queue.pop(); b; b = queue.pop()) {
      const { left, right } = b;
      // A bigram is stale when either side changed after it was queued.
      if (syms[left] === '' || syms[right] === '' || syms[left]! + syms[right]! !== b.text) continue;
      if (next[left] !== right) continue;
      syms[left] = b.text;
      syms[right] = '';
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      tryAdd(prev[left]!, left);
      tryAdd(left, next[left]!);
    }
    const out = syms.filter((s) => s !== '');
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(word, out);
    return out;
  }
}

export interface BpeOptions {
  vocab: Vocab;
  special: SpecialConfig;
  merges: BpeMerges;
  pre: PreTokenizerSpec;
}

export class BpeTokenizer implements Tokenizer {
  readonly vocab: Vocab;
  readonly special: SpecialConfig;
  readonly merges: BpeMerges;
  readonly pre: PreTokenizerSpec;
  /** Byte-level BPE keeps every space it encodes. */
  readonly stripSpaceAfterBos = false;
  /** Jinja chat template from the file's metadata, when it has one. */
  chatTemplate?: string;
  private readonly bytesCache: (Uint8Array | undefined)[];

  constructor(o: BpeOptions) {
    this.vocab = o.vocab;
    this.special = o.special;
    this.merges = o.merges;
    this.pre = o.pre;
    this.bytesCache = new Array(o.vocab.size);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }
  get bos(): number {
    return this.special.bos;
  }
  get eos(): number {
    return this.special.eos;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if ((options.bos ?? this.special.addBos) && this.special.bos >= 0) out.push(this.special.bos);
    for (const f of partitionSpecial(this.vocab, text, options.parseSpecial ?? true)) {
      if (typeof f === 'number') out.push(f);
      else for (const word of preTokenize(f, this.pre.regexes)) this.encodeWord(byteEncode(word), out);
    }
    if ((options.eos ?? this.special.addEos) && this.special.eos >= 0) out.push(this.special.eos);
    return out;
  }

  private encodeWord(word: string, out: number[]): void {
    if (this.pre.ignoreMerges) {
      const whole = this.vocab.toId.get(word);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    for (const sym of this.merges.merge(word)) {
      const id = this.vocab.toId.get(sym);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // As llama.cpp: a symbol missing from the vocabulary is spelled with single-character tokens where they exist.
      for (const ch of sym) {
        const cid = this.vocab.toId.get(ch);
        if (cid !== undefined) out.push(cid);
      }
    }
  }

  /** Control and unknown tokens render as nothing; user-defined ones as written; others are byte-decoded. */
  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache[id];
    if (cached) return cached;
    const attr = this.vocab.attrs[id];
    const piece = this.vocab.pieces[id] ?? '';
    let bytes: Uint8Array;
    if (attr === undefined || attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) bytes = new Uint8Array(0);
    else if (attr & TokenAttr.USER_DEFINED) bytes = utf8Bytes(piece);
    else if (attr & TokenAttr.BYTE) bytes = Uint8Array.of(Number.parseInt(piece.slice(3, 5), 16));
    else bytes = byteDecode(piece);
    this.bytesCache[id] = bytes;
    return bytes;
  }

  decode(ids: readonly number[], _prev?: number): string {
    return decodeBytes(ids.map((id) => this.tokenBytes(id)));
  }

  piece(id: number): string {
    return this.vocab.pieces[id] ?? '';
  }
}
