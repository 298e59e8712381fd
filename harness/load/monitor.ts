// Self-monitoring of the load generator: event-loop lag (perf_hooks' histogram), the process's CPU share, and the
// dispatch delays the generator records. When these are high the client, not the server, limits the numbers.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface ClientHealth {
  eventLoopLagP50Ms: number;
  eventLoopLagP99Ms: number;
  eventLoopLagMaxMs: number;
  cpuUtilization: number; // CPU time of this process / wall time (1 = one core busy)
  dispatchP99Ms: number;
  warnings: string[];
}

export interface Monitor {
  stop(dispatchP99Ms: number, ttftP50Ms: number): ClientHealth;
}

/** Thresholds past which results describe the client more than the server. */
export const LIMITS = { lagP99Ms: 20, dispatchP99Ms: 5, dispatchShareOfTtft: 0.1, cpu: 0.9 };

const RESOLUTION_MS = 5;

export function startMonitor(): Monitor {
  // The histogram records whole timer intervals (resolution + lag); the lag is what exceeds the resolution.
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop(dispatchP99Ms, ttftP50Ms) {
      h.disable();
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - RESOLUTION_MS) : 0);
      const health: ClientHealth = {
        eventLoopLagP50Ms: h.count > 0 ? ms(h.percentile(50)) : 0,
        eventLoopLagP99Ms: h.count > 0 ? ms(h.percentile(99)) : 0,
        eventLoopLagMaxMs: h.count > 0 ? ms(h.max) : 0,
        cpuUtilization: wall > 0 ? (cpu.user + cpu.system) / 1000 / wall : 0,
        dispatchP99Ms,
        warnings: [],
      };
      health.warnings = clientWarnings(health, ttftP50Ms);
      return health;
    },
  };
}

export function clientWarnings(h: ClientHealth, ttftP50Ms: number): string[] {
  const w: string[] = [];
  const dispatchLimit = Math.max(LIMITS.dispatchP99Ms, LIMITS.dispatchShareOfTtft * ttftP50Ms);
  if (h.dispatchP99Ms > dispatchLimit) {
    w.push(
      `client dispatch delay p99 ${h.dispatchP99Ms.toFixed(1)} ms: the load generator sent requests late; latencies still count from the schedule, but the client may be the bottleneck (lower the rate or concurrency, or run the harness on another machine)`,
    );
  }
  if (h.eventLoopLagP99Ms > LIMITS.lagP99Ms) {
    w.push(
      `client event-loop lag p99 ${h.eventLoopLagP99Ms.toFixed(1)} ms: timestamps may be late by up to that much; the client, not the server, may be the bottleneck`,
    );
  }
  if (h.cpuUtilization > LIMITS.cpu) {
    w.push(
      `client CPU ${(h.cpuUtilization * 100).toFixed(0)}% of a core: the load generator is saturated; its throughput numbers are a lower bound`,
    );
  }
  return w;
}
