// Incremental detokenization for streaming output (CLI, server): text is released only once its UTF-8 bytes are
// complete, so an emoji spread over several byte-fallback tokens never reaches a client as U+FFFD halves.
import type { Tokenizer } from './types.ts';

/**
 * The bytes token `id` contributes to the text when it follows token `prev`. Sentencepiece-style tokenizers
 * (llama2.c) drop the dummy-prefix space of the piece right after BOS, as llama2.c's decode does. This works on
 * the token's output bytes, so a <0x20> byte token right after BOS is dropped too where run.c would print it;
 * sentencepiece never emits that token (' ' is in the vocabulary), and decode() and the stream decoder agree.
 */
export function bytesAfter(t: Tokenizer, id: number, prev: number, stripSpaceAfterBos = true): Uint8Array {
  const b = t.tokenBytes(id);
  return stripSpaceAfterBos && t.bos >= 0 && prev === t.bos && b[0] === 0x20 ? b.subarray(1) : b;
}

export interface StreamDecoderOptions {
  /** The token before the first one pushed: the last prompt token (BOS for an empty prompt). Default: none. */
  prev?: number;
  /** Byte-level BPE vocabularies (GPT-2 style) keep the space; sentencepiece ones drop it. Default true. */
  stripSpaceAfterBos?: boolean;
}

export class TokenStreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a U+FEFF the model generates is text
  private prev: number;
  private readonly strip: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: StreamDecoderOptions = {},
  ) {
    this.prev = options.prev ?? -1;
    this.strip = options.stripSpaceAfterBos ?? true;
  }

  /** Adds one generated token; returns the text it completes (often '', e.g. the first bytes of an emoji). */
  push(id: number): string {
    const bytes = bytesAfter(this.tokenizer, id, this.prev, this.strip);
    this.prev = id;
    return this.decoder.decode(bytes, { stream: true });
  }

  pushAll(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) text += this.push(id);
    return text;
  }

  /** Ends the stream: bytes of an unfinished character come out as U+FFFD, as a one-shot decode would give. */
  flush(): string {
    return this.decoder.decode();
  }
}
