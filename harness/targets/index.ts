// Targets keyed by kind. A scenario's target is `engine:` or `url:`; an unknown kind lists the known ones.
import { badInput } from '../../engine/errors.ts';
import type { Target } from '../scenario/schema.ts';
import { startEngineTarget } from './engine.ts';
import type { StartedTarget, TargetContext, TargetStarter } from './types.ts';
import { startUrlTarget } from './url.ts';

export const TARGETS: Record<string, TargetStarter> = {
  engine: startEngineTarget,
  url: startUrlTarget,
};

export function targetKind(t: Target): string {
  return t.engine ? 'engine' : 'url';
}

export function startTarget(t: Target, ctx: TargetContext, index: number): Promise<StartedTarget> {
  const kind = targetKind(t);
  const start = TARGETS[kind];
  if (!start) throw badInput(`unknown target kind "${kind}"; known: ${Object.keys(TARGETS).join(', ')}`);
  return start(t, ctx, index);
}

export type { StartedTarget, TargetContext } from './types.ts';
