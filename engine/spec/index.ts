// The --spec registry: one factory per method. The engine asks for a Proposer and knows nothing else of drafting.
import type { GpuContext } from '../device/device.ts';
import { BenchError } from '../errors.ts';
import type { LoadedModel } from '../model/weights.ts';
import { BlockManager } from '../runtime/block-manager.ts';
import { type EngineOptions, kernelToggles } from '../runtime/engine-options.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import { ModelDrafter } from './drafter.ts';
import { NgramProposer } from './ngram.ts';
import type { Proposer, SpecMethod } from './types.ts';

type Options = EngineOptions & { maxBatch: number; maxNumTokens: number };
type Factory = (ctx: GpuContext, target: LoadedModel, runner: ModelRunner, o: Options) => Promise<Proposer | undefined>;

const FACTORIES: Record<SpecMethod, Factory> = {
  none: async () => undefined,
  ngram: async (_ctx, _t, _r, o) => new NgramProposer(o.ngramSize),
  layerskip: async (_ctx, target, runner, o) => {
    const L = target.config.nLayers;
    if (o.exitLayer < 1 || o.exitLayer >= L) {
      throw new BenchError(
        'BAD_INPUT',
        `--exit-layer must be from 1 to ${L - 1} for ${target.info.name} (${L} layers)`,
      );
    }
    return new ModelDrafter({ runner, exitLayer: o.exitLayer });
  },
  draft: async (ctx, target, _runner, o) => {
    const draft = o.draftModel;
    if (!draft) throw new BenchError('BAD_INPUT', '--spec draft needs --draft-model FILE|preset:NAME');
    checkSameTokenizer(target, draft);
    const c = draft.config;
    const perSeq = Math.ceil(c.maxSeqLen / o.kvBlockSize);
    const runner = await ModelRunner.create(ctx, draft, {
      maxTokens: o.maxNumTokens,
      maxOut: o.maxBatch,
      maxSeqs: o.maxBatch,
      kvBlockSize: o.kvBlockSize,
      numBlocks: o.maxBatch * perSeq,
      ...kernelToggles(o),
    });
    return new ModelDrafter({
      runner,
      exitLayer: c.nLayers,
      blocks: new BlockManager(o.maxBatch * perSeq, o.kvBlockSize),
    });
  },
};

export async function createProposer(
  ctx: GpuContext,
  target: LoadedModel,
  runner: ModelRunner,
  o: Options,
): Promise<Proposer | undefined> {
  const f = FACTORIES[o.spec];
  if (!f) throw new BenchError('BAD_INPUT', `unknown --spec ${o.spec}; known: ${Object.keys(FACTORIES).join(', ')}`);
  if (o.spec !== 'none' && (!Number.isInteger(o.specDepth) || o.specDepth < 1)) {
    throw new BenchError('BAD_INPUT', `--spec-depth must be an integer >= 1 with --spec ${o.spec}`);
  }
  return f(ctx, target, runner, o);
}

/** A draft must speak the target's vocabulary: same size and the same bytes for every token. */
function checkSameTokenizer(target: LoadedModel, draft: LoadedModel): void {
  const a = target.tokenizer;
  const b = draft.tokenizer;
  const fail = (why: string) =>
    new BenchError(
      'BAD_INPUT',
      `draft model ${draft.info.name} does not share the tokenizer of ${target.info.name} (${why}); pick a draft trained with the same tokenizer`,
    );
  if (a.vocabSize !== b.vocabSize || draft.config.vocabSize !== target.config.vocabSize) {
    throw fail(`vocabulary ${b.vocabSize} vs ${a.vocabSize}`);
  }
  for (let id = 0; id < a.vocabSize; id++) {
    const x = a.tokenBytes(id);
    const y = b.tokenBytes(id);
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) throw fail(`token ${id} differs`);
  }
}
