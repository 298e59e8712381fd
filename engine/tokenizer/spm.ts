// SentencePiece-style tokenizer (llama.cpp's "llama" / SPM vocab): spaces become U+2581, a dummy-prefix space
// starts every text run, adjacent symbols merge while the merged piece is in the vocabulary (highest score first,
// leftmost on ties), and anything left that is not a piece falls back to <0xXX> byte tokens.

import type { Tokenizer } from './types.ts';
import {
  decodeBytes,
  type Fragment,
  Heap,
  partitionSpecial,
  type SpecialConfig,
  TokenAttr,
  utf8Bytes,
  type Vocab,
} from './vocab.ts';

export const SPACE_MARK = '\u2581';

export interface EncodeOptions {
  /** Prepend BOS; default: the model's own setting. */
  bos?: boolean;
  /** Append EOS; default: the model's own setting. */
  eos?: boolean;
  /** Match control tokens written in the text (e.g. "<|im_start|>"); default true, as Hugging Face does. */
  parseSpecial?: boolean;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

const bigramOrder = (a: Bigram, b: Bigram): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);

/** Score-ordered merges over one run of text, as llama.cpp's llm_tokenizer_spm_session. */
export function spmEncodeRun(vocab: Vocab, text: string, out: number[]): void {
  const starts: number[] = [];
  const lens: number[] = [];
  for (let i = 0; i < text.length; ) {
    const n = text.codePointAt(i)! > 0xffff ? 2 : 1;
    starts.push(i);
    lens.push(n);
    i += n;
  }
  const count = starts.length;
  const prev = Array.from({ length: count }, (_, i) => i - 1);
  const next = Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
  const queue = new Heap<Bigram>(bigramOrder);
  const tryAdd = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const size = lens[left]! + lens[right]!;
    const id = vocab.toId.get(text.substr(starts[left]!, size));
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id]!, size });
  };
  for (let i = 1; i < count; i++) tryAdd(i - 1, i);
  for (let b = queue.pop(); b; b = queue.pop()) {
    const l = b.left;
    const r = b.right;
    // Skip bigrams whose symbols were merged into something else since they were queued.
    if (lens[l] === 0 || lens[r] === 0 || lens[l]! + lens[r]! !== b.size) continue;
    lens[l] = b.size;
    lens[r] = 0;
    next[l] = next[r]!;
    if (next[r]! >= 0) prev[next[r]!] = l;
    tryAdd(prev[l]!, l);
    tryAdd(l, next[l]!);
  }
  for (let i = count ? 0 : -1; i !== -1; i = next[i]!) {
    const piece = text.substr(starts[i]!, lens[i]!);
    const id = vocab.toId.get(piece);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    for (const byte of utf8Bytes(piece)) out.push(byteToken(vocab, byte));
  }
}

function byteToken(vocab: Vocab, byte: number): number {
  const hex = byte.toString(16).toUpperCase().padStart(2, '0');
  const id = vocab.toId.get(`<0x${hex}>`) ?? (byte < 0x80 ? vocab.toId.get(String.fromCharCode(byte)) : undefined);
  // A vocabulary without byte tokens cannot spell this byte; llama.cpp aborts here, we emit <unk>.
  return id ?? vocab.toId.get('<unk>') ?? 0;
}

export interface SpmOptions {
  vocab: Vocab;
  special: SpecialConfig;
  addSpacePrefix: boolean;
}

export class SpmTokenizer implements Tokenizer {
  readonly vocab: Vocab;
  readonly special: SpecialConfig;
  readonly addSpacePrefix: boolean;
  /** For stream decoders: the space a piece starts with after BOS is the dummy prefix, not text. */
  readonly stripSpaceAfterBos: boolean;
  /** Jinja chat template from the file's metadata, when it has one. */
  chatTemplate?: string;
  private readonly bytesCache: (Uint8Array | undefined)[];

  constructor(o: SpmOptions) {
    this.vocab = o.vocab;
    this.special = o.special;
    this.addSpacePrefix = o.addSpacePrefix;
    this.stripSpaceAfterBos = o.addSpacePrefix;
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
    const frags: Fragment[] = partitionSpecial(this.vocab, text, options.parseSpecial ?? true);
    let prevSpecial = true; // the dummy prefix goes before the first run and after every special token
    for (const f of frags) {
      if (typeof f === 'number') {
        out.push(f);
        prevSpecial = true;
        continue;
      }
      const run = (this.addSpacePrefix && prevSpecial ? ' ' : '') + f;
      spmEncodeRun(this.vocab, run.replaceAll(' ', SPACE_MARK), out);
      prevSpecial = false;
    }
    if ((options.eos ?? this.special.addEos) && this.special.eos >= 0) out.push(this.special.eos);
    return out;
  }

  /** Bytes of the token as text: control and unknown tokens render as nothing (llama.cpp, special=false). */
  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache[id];
    if (cached) return cached;
    const attr = this.vocab.attrs[id];
    let bytes: Uint8Array;
    if (attr === undefined || attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) bytes = new Uint8Array(0);
    else if (attr & TokenAttr.BYTE) bytes = Uint8Array.of(Number.parseInt(this.vocab.pieces[id]!.slice(3, 5), 16));
    else if (attr & TokenAttr.USER_DEFINED) bytes = utf8Bytes(this.vocab.pieces[id]!);
    else bytes = utf8Bytes(this.vocab.pieces[id]!.replaceAll(SPACE_MARK, ' '));
    this.bytesCache[id] = bytes;
    return bytes;
  }

  decode(ids: readonly number[], prev?: number): string {
    const parts: Uint8Array[] = [];
    let before = prev;
    for (const id of ids) {
      let b = this.tokenBytes(id);
      // The dummy prefix is not part of the text: drop one leading space at the start of a text and after BOS.
      const atStart = parts.every((p) => p.length === 0) && before === undefined;
      if (this.addSpacePrefix && (atStart || before === this.special.bos) && b[0] === 0x20) b = b.subarray(1);
      parts.push(b);
      before = id;
    }
    return decodeBytes(parts);
  }

  /** The stored piece (U+2581 for spaces, "<0x0A>" for bytes), as GGUF and tokenizer.json keep it. */
  piece(id: number): string {
    return this.vocab.pieces[id] ?? '';
  }
}
