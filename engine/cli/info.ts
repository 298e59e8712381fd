// `bench info`: what the adapter is and what it can do, measured: copy bandwidth and fixed dispatch costs.
import type { Command } from 'commander';
import { createDevice } from '../device/device.ts';
import { probeDevice } from '../device/probe.ts';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('adapter, features, limits, measured bandwidth and dispatch overhead')
    .option('--adapter <name>', 'WebGPU adapter to use (substring of its name)')
    .option('--json', 'print JSON')
    .action(async (f: { adapter?: string; json?: boolean }) => {
      const ctx = await createDevice(f.adapter ? { adapter: f.adapter } : {});
      const probe = await probeDevice(ctx);
      const info = {
        adapter: ctx.adapterName,
        vendor: ctx.adapterInfo.vendor,
        architecture: ctx.adapterInfo.architecture,
        software: ctx.isSoftware,
        features: ctx.features,
        limits: ctx.limits,
        copyGBps: Number(probe.copyGBps.toFixed(2)),
        dispatchUs: Number(probe.dispatchUs.toFixed(2)),
        submitUs: Number(probe.submitUs.toFixed(1)),
      };
      if (f.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      } else {
        const lines = [
          `adapter       ${info.adapter} (${info.vendor}${info.architecture ? `, ${info.architecture}` : ''})${info.software ? ' [software]' : ''}`,
          `features      ${info.features.join(', ')}`,
          `bandwidth     ${info.copyGBps} GB/s (copy kernel, reads + writes, ${probe.bytes >> 20} MiB)`,
          `dispatch      ${info.dispatchUs} us per dispatch in one pass; ${info.submitUs} us per submit + wait`,
          'limits',
          ...Object.entries(info.limits).map(([k, v]) => `  ${k.padEnd(44)} ${v}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      ctx.device.destroy();
    });
}
