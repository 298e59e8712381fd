// Shared pieces of the SentencePiece-style and byte-level BPE tokenizers: the token table with llama.cpp's token
// attributes, the split of raw text around special / user-defined tokens, and a small binary heap.

export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

/** GGUF `tokenizer.ggml.token_type` values (llama.h `llama_token_type`). */
export const GgufTokenType = { UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };

export function attrFromTokenType(t: number): number {
  switch (t) {
    case GgufTokenType.NORMAL:
      return TokenAttr.NORMAL;
    case GgufTokenType.UNKNOWN:
      return TokenAttr.UNKNOWN;
    case GgufTokenType.CONTROL:
      return TokenAttr.CONTROL;
    case GgufTokenType.USER_DEFINED:
      return TokenAttr.USER_DEFINED;
    case GgufTokenType.UNUSED:
      return TokenAttr.UNUSED;
    case GgufTokenType.BYTE:
      return TokenAttr.BYTE;
    default:
      return TokenAttr.UNDEFINED;
  }
}

export function tokenTypeFromAttr(a: number): number {
  if (a & TokenAttr.BYTE) return GgufTokenType.BYTE;
  if (a & TokenAttr.CONTROL) return GgufTokenType.CONTROL;
  if (a & TokenAttr.USER_DEFINED) return GgufTokenType.USER_DEFINED;
  if (a & TokenAttr.UNKNOWN) return GgufTokenType.UNKNOWN;
  if (a & TokenAttr.UNUSED) return GgufTokenType.UNUSED;
  if (a & TokenAttr.NORMAL) return GgufTokenType.NORMAL;
  return GgufTokenType.UNDEFINED;
}

/** Settings every tokenizer carries, named after llama.cpp's vocab fields. */
export interface SpecialConfig {
  bos: number; // -1: none
  eos: number;
  unk: number;
  addBos: boolean;
  addEos: boolean;
}

/** The token table: pieces as stored by the format, scores, attributes and the reverse map. */
export class Vocab {
  readonly toId = new Map<string, number>();
  /** Special / user-defined tokens, longest first: the order llama.cpp partitions text in. */
  readonly specials: number[];

  constructor(
    readonly pieces: readonly string[],
    readonly scores: Float32Array,
    readonly attrs: Uint16Array,
  ) {
    for (let i = 0; i < pieces.length; i++) {
      // llama.cpp keeps the first id of a duplicated piece; later duplicates stay reachable by id only.
      if (!this.toId.has(pieces[i]!)) this.toId.set(pieces[i]!, i);
    }
    const mask = TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN;
    this.specials = [];
    for (let i = 0; i < pieces.length; i++) if (attrs[i]! & mask && pieces[i]!.length > 0) this.specials.push(i);
    // Stable sort: equal-length specials keep id order, deterministic where llama.cpp's std::sort is not.
    this.specials.sort((a, b) => pieces[b]!.length - pieces[a]!.length);
  }

  get size(): number {
    return this.pieces.length;
  }
}

export type Fragment = string | number; // raw text, or an already-resolved token id

const isAsciiSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/**
 * Splits `text` around special tokens as llama.cpp's tokenizer_st_partition does: each special (longest first)
 * cuts every remaining raw fragment. Control and unknown tokens are only matched when `parseSpecial`;
 * user-defined tokens always are (Hugging Face matches added tokens before the model sees the text).
 */
export function partitionSpecial(vocab: Vocab, text: string, parseSpecial: boolean): Fragment[] {
  let frags: Fragment[] = text.length ? [text] : [];
  for (const id of vocab.specials) {
    const attr = vocab.attrs[id]!;
    if (!parseSpecial && attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) continue;
    const piece = vocab.pieces[id]!;
    const next: Fragment[] = [];
    let changed = false;
    for (const f of frags) {
      if (typeof f === 'number' || !f.includes(piece)) {
        next.push(f);
        continue;
      }
      changed = true;
      let start = 0;
      for (;;) {
        const at = f.indexOf(piece, start);
        if (at < 0) break;
        let leftEnd = at;
        if (attr & TokenAttr.LSTRIP) while (leftEnd > start && isAsciiSpace(f[leftEnd - 1])) leftEnd--;
        if (leftEnd > start) next.push(f.slice(start, leftEnd));
        next.push(id);
        start = at + piece.length;
        if (attr & TokenAttr.RSTRIP) while (start < f.length && isAsciiSpace(f[start])) start++;
      }
      if (start < f.length) next.push(f.slice(start));
    }
    if (changed) frags = next;
  }
  return frags;
}

/** Min-heap on a caller-given order; small and allocation-light for merge queues. */
export class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

const encoder = new TextEncoder();

export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Concatenates byte pieces and decodes them once, so multi-byte characters split across tokens come out whole. */
export function decodeBytes(parts: readonly Uint8Array[]): string {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new TextDecoder('utf-8').decode(all);
}
