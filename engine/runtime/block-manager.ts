// CPU bookkeeping of the paged KV cache: a free list of fixed-size blocks and, per sequence, the blocks that
// hold its positions in order. The GPU only ever sees block tables; blocks never move.

export class BlockManager {
  readonly blockSize: number;
  readonly numBlocks: number;
  private readonly free: number[];

  constructor(numBlocks: number, blockSize: number) {
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    // Popped from the end, so low block ids are handed out first (easier to read in a debugger).
    this.free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  get freeBlocks(): number {
    return this.free.length;
  }

  get usedBlocks(): number {
    return this.numBlocks - this.free.length;
  }

  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  /** Whether `blocks` can grow to hold `tokens` positions. */
  canGrow(blocks: readonly number[], tokens: number): boolean {
    return this.blocksFor(tokens) - blocks.length <= this.free.length;
  }

  /** Grows `blocks` in place to hold `tokens` positions; returns false (and changes nothing) when out of blocks. */
  grow(blocks: number[], tokens: number): boolean {
    const need = this.blocksFor(tokens) - blocks.length;
    if (need <= 0) return true;
    if (need > this.free.length) return false;
    for (let i = 0; i < need; i++) blocks.push(this.free.pop()!);
    return true;
  }

  /** Drops blocks beyond `tokens` positions (speculative rollback); returns them to the free list. */
  shrink(blocks: number[], tokens: number): void {
    const keep = this.blocksFor(tokens);
    while (blocks.length > keep) this.free.push(blocks.pop()!);
  }

  release(blocks: number[]): void {
    this.shrink(blocks, 0);
  }
}
