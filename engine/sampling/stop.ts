// Stop strings are matched on decoded text, which arrives a token (a few characters) at a time. A stop string
// can straddle chunks, so text that might be the beginning of one is held back until the next chunk settles it;
// everything else is released at once so streaming clients see tokens without delay.

export interface StopUpdate {
  /** Text that can be shown now (never part of a stop string). */
  text: string;
  /** True once a stop string has been seen; `text` then ends right before it and later input is ignored. */
  stopped: boolean;
  /** The stop string that matched. */
  stop?: string;
}

export class StopMatcher {
  private readonly stops: string[];
  private held = '';
  private done = false;

  /** Empty strings are ignored (they would match before any text). */
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  push(chunk: string): StopUpdate {
    if (this.done) return { text: '', stopped: true };
    const buf = this.held + chunk;
    let at = -1;
    let which: string | undefined;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (which !== undefined) {
      this.done = true;
      this.held = '';
      return { text: buf.slice(0, at), stopped: true, stop: which };
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** End of generation without a stop: the held-back text was not a stop string after all. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let len = Math.min(s.length - 1, buf.length); len > best; len--) {
        if (buf.endsWith(s.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
