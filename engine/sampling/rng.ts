// PCG32 (O'Neill, pcg-random.org: XSH-RR output, 64-bit LCG state), the seeded generator behind every sampled
// token. Chosen because it is small, well studied, and has published test vectors (pcg32-demo) to test against.
// BigInt keeps the 64-bit state arithmetic exact and readable; a token needs only a few draws.

const MASK64 = (1n << 64n) - 1n;
const MULT = 6364136223846793005n;

export class Pcg32 {
  private state = 0n;
  private readonly inc: bigint;

  /** pcg32_srandom_r(initstate, initseq): the same (seed, stream) always gives the same sequence. */
  constructor(seed: number | bigint, stream: number | bigint = 54) {
    this.inc = ((BigInt(stream) << 1n) | 1n) & MASK64;
    this.nextU32();
    this.state = (this.state + (BigInt(seed) & MASK64)) & MASK64;
    this.nextU32();
  }

  /** A seeded generator from a SamplingParams seed, or a fresh random one when no seed was asked for. */
  static fromSeed(seed?: number): Pcg32 {
    if (seed === undefined) {
      const [a, b] = crypto.getRandomValues(new Uint32Array(2));
      return new Pcg32((BigInt(a!) << 32n) | BigInt(b!));
    }
    return new Pcg32(BigInt(Math.trunc(seed)));
  }

  nextU32(): number {
    const old = this.state;
    this.state = (old * MULT + this.inc) & MASK64;
    const xorshifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
    return ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits (two draws). */
  random(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}
