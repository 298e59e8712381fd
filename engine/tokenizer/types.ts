/** A tokenizer as the engine uses it. Implementations: llama2.c tokenizer.bin, byte-level (synthetic presets). */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bos: number; // -1 when the vocabulary has none
  readonly eos: number; // -1 when the vocabulary has none
  /** Encodes as the model's own runtime does (llama2.c: optional BOS, dummy-prefix space, score-ordered merges). */
  encode(text: string, options?: { bos?: boolean }): number[];
  /** The raw bytes one token stands for (byte-fallback tokens give their single byte). */
  tokenBytes(id: number): Uint8Array;
  /**
   * SentencePiece-style vocabularies (llama2.c, Llama 2) drop the dummy-prefix space of the piece right after BOS;
   * byte-level BPE ones (GPT-2, Llama 3) keep it. Absent means true.
   */
  readonly stripSpaceAfterBos?: boolean;
  /** Text of generated ids following `prev` (llama2.c strips the dummy-prefix space right after BOS). */
  decode(ids: readonly number[], prev?: number): string;
}
