// The measurement loop only emits events; the console progress, logs and anything else subscribe (quality rule 8).
import { EventEmitter } from 'node:events';
import type { RequestRecord } from '../metrics/request.ts';
import type { ConfigResult, ResultsFile } from '../output/types.ts';
import type { ConfigPoint } from '../scenario/load.ts';

export interface RunEventMap {
  'run-start': { results: ResultsFile; points: ConfigPoint[]; outDir: string };
  'target-start': { point: ConfigPoint; description: string };
  'config-start': {
    point: ConfigPoint;
    configs: number;
    repeat: number;
    repeats: number;
    plannedRequests?: number; // measured + warm-up + cool-down, when bounded by count
    durationMs?: number;
  };
  request: { point: ConfigPoint; record: RequestRecord };
  'config-end': { point: ConfigPoint; result: ConfigResult };
  warning: { message: string };
  'run-end': { results: ResultsFile; outDir: string; files: string[] };
}

export class RunEvents {
  private readonly emitter = new EventEmitter();

  on<K extends keyof RunEventMap>(event: K, fn: (payload: RunEventMap[K]) => void): this {
    this.emitter.on(event, fn);
    return this;
  }

  emit<K extends keyof RunEventMap>(event: K, payload: RunEventMap[K]): void {
    this.emitter.emit(event, payload);
  }
}
