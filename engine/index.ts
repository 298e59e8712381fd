// Public surface of the engine (DESIGN.md rule 12): the harness and the CLI import only from here.
import type { Command } from 'commander';
import { registerConvert } from './cli/convert.ts';
import { registerEval } from './cli/eval.ts';
import { registerGenerate } from './cli/generate.ts';
import { registerInfo } from './cli/info.ts';
import { registerProfile } from './cli/profile.ts';
import { registerTokenize } from './cli/tokenize.ts';
import { registerServe } from './server/serve-command.ts';

export { createDevice, type GpuContext } from './device/device.ts';
export { BenchError } from './errors.ts';
export { loadModel, loadTokenizer } from './model/load.ts';
export { WebGpuEngine } from './runtime/engine.ts';
export type { EngineOptions } from './runtime/engine-options.ts';
export type { Engine, GenerationRequest, GenerationResult } from './runtime/types.ts';
export type { Tokenizer } from './tokenizer/types.ts';

export function registerEngineCommands(program: Command): void {
  registerInfo(program);
  registerGenerate(program);
  registerEval(program);
  registerProfile(program);
  registerServe(program);
  registerTokenize(program);
  registerConvert(program);
}
