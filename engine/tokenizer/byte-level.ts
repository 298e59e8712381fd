// The synthetic presets' tokenizer. Text maps onto byte tokens one to one, so a prompt of N UTF-8 bytes is
// exactly N tokens (+ BOS): load tests can ask for exact prompt lengths. Ids past the byte range exist only
// because big presets have Llama-sized vocabularies; they decode to short pseudo-words so generated text
// looks word-like without any real vocabulary file.
import { BenchError } from '../errors.ts';
import type { Tokenizer } from './types.ts';

export const BYTE_LEVEL_UNK = 0;
export const BYTE_LEVEL_BOS = 1;
export const BYTE_LEVEL_EOS = 2;
/** Id of byte 0; byte b is id b + BYTE_OFFSET. */
export const BYTE_OFFSET = 3;
/** Smallest vocabulary: the three specials and 256 bytes. */
export const BYTE_LEVEL_MIN_VOCAB = 259;

const CONSONANTS = 'bdfghklmnprstvzjcwy';
const VOWELS = 'aeiou';
const SYLLABLES = CONSONANTS.length * VOWELS.length; // 95
const TWO = SYLLABLES * SYLLABLES; // 9025 two-syllable words
const THREE = TWO * SYLLABLES; // 857375 three-syllable words: enough for a 128256 vocabulary

// Multiplying by a number coprime with the word count is a bijection: neighbouring ids get unrelated words.
const SCRAMBLE_TWO = 4801; // prime, does not divide 9025 = 5^2 * 19^2
const SCRAMBLE_THREE = 524287; // prime (2^19 - 1), does not divide 857375 = 5^3 * 19^3

function syllable(i: number): string {
  return CONSONANTS[Math.floor(i / VOWELS.length)]! + VOWELS[i % VOWELS.length]!;
}

/** The pseudo-word of id >= 259: " " + 2 or 3 syllables, distinct for every id below 259 + 9025 + 857375. */
export function pseudoWord(id: number): string {
  let n = id - BYTE_LEVEL_MIN_VOCAB;
  let count = 2;
  let total = TWO;
  let mult = SCRAMBLE_TWO;
  if (n >= TWO) {
    n -= TWO;
    count = 3;
    total = THREE;
    mult = SCRAMBLE_THREE;
  }
  let v = (n * mult) % total; // < 2^53: exact
  let word = '';
  for (let i = 0; i < count; i++) {
    word += syllable(v % SYLLABLES);
    v = Math.floor(v / SYLLABLES);
  }
  return ` ${word}`;
}

const EMPTY = new Uint8Array(0);

export class ByteLevelTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos = BYTE_LEVEL_BOS;
  readonly eos = BYTE_LEVEL_EOS;
  private readonly encoder = new TextEncoder();

  constructor(vocabSize = BYTE_LEVEL_MIN_VOCAB) {
    if (!Number.isInteger(vocabSize) || vocabSize < BYTE_LEVEL_MIN_VOCAB) {
      throw new BenchError(
        'BAD_TOKENIZER',
        `a byte-level tokenizer needs a vocabulary of at least ${BYTE_LEVEL_MIN_VOCAB} ids (3 specials + 256 bytes), got ${vocabSize}`,
      );
    }
    this.vocabSize = vocabSize;
  }

  encode(text: string, options?: { bos?: boolean }): number[] {
    const bytes = this.encoder.encode(text);
    const ids: number[] = options?.bos === false ? [] : [BYTE_LEVEL_BOS];
    for (const b of bytes) ids.push(b + BYTE_OFFSET);
    return ids;
  }

  /** Specials (<unk>, BOS, EOS) stand for no bytes: they never show up in decoded text. */
  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new BenchError('BAD_INPUT', `token id ${id} is outside this vocabulary (0..${this.vocabSize - 1})`);
    }
    if (id < BYTE_OFFSET) return EMPTY;
    if (id < BYTE_LEVEL_MIN_VOCAB) return Uint8Array.of(id - BYTE_OFFSET);
    return this.encoder.encode(pseudoWord(id));
  }

  /** No dummy-prefix space is ever added by encode(), so nothing is stripped after BOS (`prev` is unused). */
  decode(ids: readonly number[], _prev?: number): string {
    const parts = ids.map((id) => this.tokenBytes(id));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    return new TextDecoder().decode(bytes);
  }
}
