// PNG charts: the same chart.js configurations as the HTML report, drawn in Node on @napi-rs/canvas (prebuilt
// binaries from npm, no Cairo/Pango build needed).
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration, registerables } from 'chart.js';
import { writeFileAtomic } from '../harness/output/io.ts';
import type { ChartSpec } from './charts.ts';

Chart.register(...registerables);

const WIDTH = 960;
const HEIGHT = 480;

/** Paints the background white: PNGs are viewed on dark and light pages alike. */
const whiteBackground = {
  id: 'whiteBackground',
  beforeDraw(chart: Chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export function renderPng(spec: ChartSpec): Buffer {
  const canvas = createCanvas(WIDTH, HEIGHT);
  const config = structuredClone(spec.config) as unknown as ChartConfiguration;
  config.options = { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 };
  config.plugins = [whiteBackground];
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, config);
  try {
    return canvas.toBuffer('image/png');
  } finally {
    chart.destroy();
  }
}

export async function writePngs(specs: ChartSpec[], dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const s of specs) {
    const file = join(dir, `chart-${s.id}.png`);
    await writeFileAtomic(file, renderPng(s));
    files.push(file);
  }
  return files;
}
