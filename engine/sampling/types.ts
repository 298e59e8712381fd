/** Sampling parameters shared by the CLI, the server (OpenAI and TGI map onto these) and the runtime. */
export interface SamplingParams {
  temperature: number; // 0 = greedy
  topK: number; // 0 = off
  topP: number; // 1 = off
  seed?: number; // set: reproducible draws
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1 };
