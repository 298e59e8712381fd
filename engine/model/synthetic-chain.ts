// The sparse random Markov chain behind the synthetic presets: for each token, a few successors with skewed
// logits. Index-addressable (successors(t) needs no table), so a 128k-token vocabulary costs no memory, and
// integer-hash driven, so it is the same on every machine. Byte tokens follow English letter frequencies so
// generated text looks like something; ids past the bytes are pseudo-words (byte-level.ts).
import { BYTE_LEVEL_BOS, BYTE_LEVEL_EOS, BYTE_LEVEL_MIN_VOCAB, BYTE_OFFSET } from '../tokenizer/byte-level.ts';
import { pcg } from './noise.ts';

export interface ChainShape {
  successors: number; // per token (EOS may come on top)
  gapMin: number; // nats between consecutive successors' logits, drawn uniformly from [gapMin, gapMax]
  gapMax: number;
  margin: number; // the top successor's logit is ln(vocab) + margin: non-successors share little probability
  wordShare: number; // chance that a successor is a pseudo-word token, when the vocabulary has them
  eosChance: number; // chance that EOS is a token's last, weakest successor
}

export const DEFAULT_CHAIN: ChainShape = {
  successors: 4,
  gapMin: 0.3,
  gapMax: 2.5,
  margin: 8,
  wordShare: 0.5,
  eosChance: 0.05,
};

export interface ChainParams extends Partial<ChainShape> {
  vocabSize: number;
  seed: number;
}

// Relative frequencies (per mille, roughly English text) of the bytes a successor is drawn from.
const LETTERS = 'etaoinshrdlucmwfgypbvkjxqz';
const LETTER_FREQ = [
  127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24, 24, 22, 20, 20, 19, 15, 10, 8, 2, 2, 1, 1,
];
const PUNCT = '.,;:!?\'-"';

interface Weighted {
  bytes: number[];
  cum: number[]; // cumulative weights
}

function table(entries: Array<[string, number]>): Weighted {
  const bytes: number[] = [];
  const cum: number[] = [];
  let sum = 0;
  for (const [chars, w] of entries) {
    for (const ch of chars) {
      sum += w;
      bytes.push(ch.charCodeAt(0));
      cum.push(sum);
    }
  }
  return { bytes, cum };
}

const lower = Array.from(LETTERS, (ch, i): [string, number] => [ch, LETTER_FREQ[i]!]);
/** After a letter: more letters, word breaks, some punctuation. */
const AFTER_LETTER = table([...lower, [' ', 180], [PUNCT.slice(0, 2), 12], [PUNCT.slice(2), 2], ['\n', 4]]);
/** Words start with letters (capitals now and then). */
const WORD_START = table([
  ...lower,
  ...Array.from(LETTERS.toUpperCase(), (ch, i): [string, number] => [ch, LETTER_FREQ[i]! / 8]),
]);
/** After punctuation: a space or a line break, else anything. */
const AFTER_PUNCT = table([[' ', 300], ['\n', 40], ...lower.map(([ch, w]): [string, number] => [ch, w / 4])]);
/** Text starts with a capital. */
const TEXT_START = table(Array.from(LETTERS.toUpperCase(), (ch, i): [string, number] => [ch, LETTER_FREQ[i]!]));

function draw(t: Weighted, u: number): number {
  const x = u * t.cum[t.cum.length - 1]!;
  let i = 0;
  while (t.cum[i]! <= x) i++;
  return t.bytes[i]! + BYTE_OFFSET;
}

function contextTable(token: number): Weighted {
  if (token === BYTE_LEVEL_BOS) return TEXT_START;
  const b = token - BYTE_OFFSET;
  if (b === 0x20 || b === 0x0a) return WORD_START;
  if (b >= 0 && b < 256 && PUNCT.includes(String.fromCharCode(b))) return AFTER_PUNCT;
  // Letters, other bytes and pseudo-words (which start with a space and end with a letter).
  return AFTER_LETTER;
}

export function chainShape(p: ChainParams): ChainShape {
  return { ...DEFAULT_CHAIN, ...p };
}

/** Logit of the top successor: ln(vocab) + margin. */
export function topLogit(p: ChainParams): number {
  return Math.log(p.vocabSize) + chainShape(p).margin;
}

/** Norm of a typical successor-logit vector (gaps at their mean): the scale the embedding is built to. */
export function chainLogitNorm(p: ChainParams): number {
  const s = chainShape(p);
  const gap = (s.gapMin + s.gapMax) / 2;
  let sq = 0;
  for (let j = 0; j < s.successors; j++) sq += (topLogit(p) - j * gap) ** 2;
  return Math.sqrt(sq);
}

/**
 * Token t's successors, most likely first, with their logits (the chain's log-probabilities up to a constant).
 * Never t itself, <unk> or BOS; EOS only rarely, and last.
 */
export function successors(p: ChainParams, t: number): { ids: number[]; logits: number[] } {
  const s = chainShape(p);
  let state = pcg((pcg((p.seed ^ 0x5bd1e995) >>> 0) + t) >>> 0);
  const next = () => {
    state = pcg((state + 0x9e3779b9) >>> 0);
    return state / 4294967296;
  };
  const ids: number[] = [];
  const logits: number[] = [];
  if (t === BYTE_LEVEL_EOS) return { ids, logits }; // nothing follows the end
  const words = p.vocabSize - BYTE_LEVEL_MIN_VOCAB;
  const context = contextTable(t);
  let logit = topLogit(p);
  for (let tries = 0; ids.length < s.successors && tries < 100; tries++) {
    const id =
      words > 0 && t !== BYTE_LEVEL_BOS && next() < s.wordShare
        ? BYTE_LEVEL_MIN_VOCAB + Math.floor(next() * words)
        : draw(context, next());
    if (id === t || ids.includes(id)) continue;
    ids.push(id);
    logits.push(logit);
    logit -= s.gapMin + next() * (s.gapMax - s.gapMin);
  }
  if (next() < s.eosChance) {
    ids.push(BYTE_LEVEL_EOS);
    logits.push(logit - 1);
  }
  return { ids, logits };
}

/** x^-1 mod n for gcd(x, n) = 1 (extended Euclid; values stay far below 2^53). */
function modInverse(x: number, n: number): number {
  let [r0, r1] = [n, x % n];
  let [t0, t1] = [0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return ((t0 % n) + n) % n;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The i-th affine permutation x -> a x + b of the non-special ids [3, vocab), and its inverse. */
function permutation(p: ChainParams, i: number): { fwd: (x: number) => number; inv: (x: number) => number } {
  const n = p.vocabSize - BYTE_OFFSET;
  const h = pcg((pcg((p.seed ^ 0x2545f491) >>> 0) + i) >>> 0);
  let a = 1 + (h % (n - 1));
  while (gcd(a, n) !== 1) a++;
  const b = pcg(h) % n;
  const ainv = modInverse(a, n);
  return {
    fwd: (x) => ((a * (x - BYTE_OFFSET) + b) % n) + BYTE_OFFSET,
    inv: (x) => ((ainv * (x - BYTE_OFFSET - b + n)) % n) + BYTE_OFFSET,
  };
}

/**
 * Tied presets: a symmetric score matrix cannot follow a directed chain, so their chain is an undirected graph
 * in which every ordinary token has the same number of neighbours (successors / 2 random permutations, both
 * ways) and each edge one logit, seen alike from both ends. Equal degrees matter: a directed chain made
 * symmetric would give popular tokens thousands of high-scoring neighbours. Specials have no neighbours.
 */
export function neighbors(p: ChainParams, t: number): { ids: number[]; logits: number[] } {
  const s = chainShape(p);
  const ids: number[] = [];
  const logits: number[] = [];
  if (t < BYTE_OFFSET || p.vocabSize - BYTE_OFFSET < 3) return { ids, logits };
  // Edge logits spread uniformly below the top; with this spread the gap between a token's two best neighbours
  // averages the directed chain's mean gap (top-two spacing of k uniform draws is spread / (k + 1)).
  const spread = (s.successors + 1) * ((s.gapMin + s.gapMax) / 2);
  for (let i = 0; i < Math.ceil(s.successors / 2); i++) {
    const perm = permutation(p, i);
    for (const nb of [perm.fwd(t), perm.inv(t)]) {
      if (nb === t || ids.includes(nb)) continue;
      const edge = pcg((pcg((pcg((p.seed + i) >>> 0) ^ Math.min(t, nb)) >>> 0) ^ Math.max(t, nb)) >>> 0);
      ids.push(nb);
      logits.push(topLogit(p) - (edge / 4294967296) * spread);
    }
  }
  return { ids, logits };
}
