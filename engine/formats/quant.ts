// Element codecs for checkpoint storage types: half floats, bfloat16 and ggml's Q8_0 / Q4_0 / Q4_1 blocks.
// Layouts follow ggml-quants.c: every block of 32 values starts with an f16 scale d (Q4_1 adds an f16 min m);
// Q4_0/Q4_1 keep value j in the low nibble of byte j and value j+16 in the high nibble.

import { GgmlType } from './ggml-types.ts';

let halfTable: Float32Array | undefined;

/** f16 bits -> f32, through a 64K-entry table built once (Node 20 has no Float16Array). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

export function halfToFloat(h: number): number {
  return halfToFloatTable()[h & 0xffff]!;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 -> f16 bits, round to nearest even (as numpy / ggml's FP32_TO_FP16 on most platforms). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  // A carry out of the mantissa rounds up into the exponent, which is the correct result (up to infinity).
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function bf16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** f32 -> bf16 bits, round to nearest even (as PyTorch). */
export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes `count` values of ggml type `type` from `src`; the caller has checked the type is decodable. */
export function dequantize(type: number, src: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case GgmlType.F16: {
      const t = halfToFloatTable();
      for (let i = 0; i < count; i++) out[i] = t[view.getUint16(i * 2, true)]!;
      return out;
    }
    case GgmlType.BF16:
      for (let i = 0; i < count; i++) out[i] = bf16ToFloat(view.getUint16(i * 2, true));
      return out;
    case GgmlType.Q8_0: {
      const t = halfToFloatTable();
      for (let b = 0; b < count / 32; b++) {
        const base = b * 34;
        const d = t[view.getUint16(base, true)]!;
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(base + 2 + j);
      }
      return out;
    }
    case GgmlType.Q4_0:
    case GgmlType.Q4_1: {
      const t = halfToFloatTable();
      const q41 = type === GgmlType.Q4_1;
      const size = q41 ? 20 : 18;
      const qOff = q41 ? 4 : 2;
      for (let b = 0; b < count / 32; b++) {
        const base = b * size;
        const d = t[view.getUint16(base, true)]!;
        const m = q41 ? t[view.getUint16(base + 2, true)]! : -8 * d;
        for (let j = 0; j < 16; j++) {
          const q = src[base + qOff + j]!;
          out[b * 32 + j] = (q & 0x0f) * d + m;
          out[b * 32 + j + 16] = (q >> 4) * d + m;
        }
      }
      return out;
    }
    default:
      throw new Error(`dequantize: type ${type} is not decodable`);
  }
}

/** C's roundf: halves away from zero (Math.round sends -2.5 to -2). */
function roundAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/** Q8_0 as ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 34, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, roundAway(x[b * 32 + j]! * id));
  }
  return out;
}

/** Q4_0 as ggml's quantize_row_q4_0_ref: d = (signed value of largest magnitude) / -8, q = clamp(x/d + 8.5). */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = max / -8;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 18, floatToHalf(d), true);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(x[b * 32 + j]! * id + 8.5));
      const q1 = Math.min(15, Math.trunc(x[b * 32 + j + 16]! * id + 8.5));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** Q4_1 as ggml's quantize_row_q4_1_ref: d = (max - min) / 15, m = min, q = clamp((x - m)/d + 0.5). */
export function quantizeQ4_1(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 20);
  const view = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j]!;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const d = (max - min) / 15;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 20, floatToHalf(d), true);
    view.setUint16(b * 20 + 2, floatToHalf(min), true);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc((x[b * 32 + j]! - min) * id + 0.5));
      const q1 = Math.min(15, Math.trunc((x[b * 32 + j + 16]! - min) * id + 0.5));
      out[b * 20 + 4 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** Encodes f32 values as ggml type `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_1). */
export function quantize(type: number, x: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    case GgmlType.F16:
    case GgmlType.BF16: {
      const out = new Uint8Array(x.length * 2);
      const view = new DataView(out.buffer);
      const enc = type === GgmlType.F16 ? floatToHalf : floatToBf16;
      for (let i = 0; i < x.length; i++) view.setUint16(i * 2, enc(x[i]!), true);
      return out;
    }
    case GgmlType.Q8_0:
      return quantizeQ8_0(x);
    case GgmlType.Q4_0:
      return quantizeQ4_0(x);
    case GgmlType.Q4_1:
      return quantizeQ4_1(x);
    default:
      throw new Error(`quantize: type ${type} is not encodable`);
  }
}
