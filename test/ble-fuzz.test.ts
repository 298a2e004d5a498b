/**
 * Hostile input for the scale decoders: random frames, every truncation and bit flip of valid
 * frames, flag sweeps, oversized frames and shuffled 0x2A9C packet sequences, into every decoder.
 * None may throw; every frame is either a plausible measurement or refused with a code and a
 * reason. Cases that once mattered are replayed from test/corpus/ble.json.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decodeCapture, decodeSingleFrame, pushBodyCompositionPacket, EMPTY_ASSEMBLY } from '../src/devices/scale/decoders/index.js';
import { SCALE_FORMATS, type DecodeResult, type ScaleFormat } from '../src/devices/scale/measurement.js';
import { prng, recordTally } from './helpers/robustness.js';

const SEED = 0x5ca1e;
const PER_DECODER = 2500;

/** Valid frames of each format (the decoders' worked examples and public captures). */
const VALID: Record<ScaleFormat, string[]> = {
  '2a9d': ['001437', '0e1437e807030f071e0502e600d606', '09b43cdf00ad02', '061437000000000000ff'],
  '2a9c': ['1e06d700e807030f071e0501581b920188131437', '7e10d700e807030f071e0501581b92013016342b', '801fd700a028141e88131437d606', '210cc8007418b43cad02'],
  'mi-scale-2': ['223e30e607020e10293a', 'a23e30e607020e10293a', '237233e607020e10293a', 'a26036e30707110f1f11'],
  'mi-body-composition': ['0226e607020e10293af7019a38', '0224e607020e10293a00009a38', '0326e607020e10293af701f136', '0624b2070101002e3800004c04'],
};
const REJECT_CODES = new Set(['empty', 'truncated', 'oversized', 'inconsistent', 'unsuccessful', 'not-stabilized', 'no-load']);
const NUMERIC = ['weightKg', 'weightReported', 'heightM', 'bmi', 'bodyFatPercent', 'basalMetabolismKj', 'musclePercent', 'muscleMassKg', 'fatFreeMassKg', 'softLeanMassKg', 'bodyWaterMassKg', 'impedanceOhm'] as const;

/** What is wrong with a result, or undefined when it is a well-formed measurement or refusal. */
function problem(format: ScaleFormat, r: DecodeResult): string | undefined {
  if (!r.ok) {
    if (!REJECT_CODES.has(r.code)) return `unknown code ${r.code}`;
    if (typeof r.reason !== 'string' || r.reason.length < 5) return 'refusal without a reason';
    return undefined;
  }
  const m = r.measurement;
  if (m.format !== format) return `format ${m.format}`;
  for (const k of NUMERIC) {
    const v = m[k];
    if (v !== null && (!Number.isFinite(v) || v < 0)) return `${k} is ${v}`;
  }
  if (m.weightKg !== null && m.weightKg > 400) return `weight ${m.weightKg}`;
  if ((m.bodyFatPercent ?? 0) > 100 || (m.musclePercent ?? 0) > 100) return 'a percentage above 100';
  if (m.scaleTime !== null && (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(m.scaleTime) || Number.isNaN(Date.parse(m.scaleTime + 'Z')))) return `time ${m.scaleTime}`;
  if (!m.stabilized) return 'an unstabilized reading became a measurement';
  return undefined;
}

function fromHex(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

/** Deterministic hostile frames for one format: mutations of valid ones, then random ones. */
function hostileFrames(format: ScaleFormat, rand: () => number): Uint8Array[] {
  const byte = () => Math.floor(rand() * 256);
  const out: Uint8Array[] = [new Uint8Array(0), new Uint8Array(513).fill(0xff), new Uint8Array(4096)];
  for (const h of VALID[format]) {
    const v = fromHex(h);
    for (let n = 0; n < v.length; n++) out.push(v.slice(0, n)); // every truncation
    for (let bit = 0; bit < v.length * 8; bit++) {
      const f = v.slice();
      f[bit >> 3]! ^= 1 << (bit & 7); // every single bit flip
      out.push(f);
    }
    for (let extra = 1; extra <= 4; extra++) out.push(Uint8Array.from([...v, ...Array.from({ length: extra }, byte)]));
  }
  // Every value of the flags / control byte(s) over a valid body.
  const base = fromHex(VALID[format][1]!);
  const flagByte = format === 'mi-body-composition' ? 1 : 0;
  for (let f = 0; f < 256; f++) {
    const a = base.slice();
    a[flagByte] = f;
    out.push(a);
  }
  while (out.length < PER_DECODER) {
    const pick = rand();
    if (pick < 0.5) {
      // Random mutation of a valid frame: a few bytes replaced, and maybe cut or grown.
      const v = fromHex(VALID[format][Math.floor(rand() * VALID[format].length)]!).slice();
      const edits = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < edits; i++) v[Math.floor(rand() * v.length)] = byte();
      const len = rand() < 0.3 ? Math.floor(rand() * (v.length + 6)) : v.length;
      out.push(Uint8Array.from({ length: len }, (_, i) => (i < v.length ? v[i]! : byte())));
    } else {
      const len = rand() < 0.05 ? 500 + Math.floor(rand() * 200) : Math.floor(rand() * 40);
      out.push(Uint8Array.from({ length: len }, byte));
    }
  }
  return out;
}

describe('scale decoders under hostile input', () => {
  it(`refuse with a reason, never throw: at least ${PER_DECODER} frames per decoder`, () => {
    const rand = prng(SEED) as () => number;
    const tally = { surface: 'ble-decoders', tried: 0, refused: 0, accepted: 0, crashes: 0, dataLost: 0 };
    const wrong: string[] = [];
    const perFormat: Record<string, number> = {};
    for (const format of SCALE_FORMATS) {
      const frames = hostileFrames(format, rand);
      perFormat[format] = frames.length;
      for (const frame of frames) {
        tally.tried++;
        let r: DecodeResult;
        try {
          r = decodeSingleFrame(format, frame);
        } catch (err) {
          tally.crashes++;
          wrong.push(`${format} ${Buffer.from(frame).toString('hex')} threw ${(err as Error).message}`);
          continue;
        }
        const p = problem(format, r);
        if (p) wrong.push(`${format} ${Buffer.from(frame).toString('hex')}: ${p}`);
        if (r.ok) tally.accepted++;
        else tally.refused++;
      }
      if (format === '2a9c') {
        // Packet sequences: the reassembler sees halves, wholes and garbage in any order.
        let state = EMPTY_ASSEMBLY;
        let now = 0;
        for (let i = 0; i < 2000; i++) {
          const frame = frames[Math.floor(rand() * frames.length)]!;
          now += Math.floor(rand() * 4000);
          tally.tried++;
          try {
            const step = pushBodyCompositionPacket(state, frame, now);
            state = step.state;
            for (const r of step.results) {
              const p = problem('2a9c', r);
              if (p) wrong.push(`2a9c sequence: ${p}`);
            }
            if (step.results.some((r) => r.ok)) tally.accepted++;
            else tally.refused++;
          } catch (err) {
            tally.crashes++;
            wrong.push(`2a9c sequence threw ${(err as Error).message}`);
          }
        }
      }
    }
    recordTally(tally);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(tally.crashes).toBe(0);
    for (const format of SCALE_FORMATS) expect(perFormat[format]).toBeGreaterThanOrEqual(PER_DECODER);
    // The run is meaningful: both outcomes happen.
    expect(tally.accepted).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(tally.tried / 2);
  });

  it('replays the corpus of interesting cases', () => {
    const corpus = JSON.parse(readFileSync(new URL('./corpus/ble.json', import.meta.url), 'utf8')) as {
      name: string;
      format: ScaleFormat;
      hex: string[];
      padTo?: number;
      expect: 'accept' | 'refuse';
      code?: string;
    }[];
    expect(corpus.length).toBeGreaterThanOrEqual(25);
    const wrong: string[] = [];
    for (const c of corpus) {
      const frames = c.hex.map((h) => {
        const b = fromHex(h);
        return c.padTo ? Uint8Array.from({ length: c.padTo }, (_, i) => b[i] ?? 0) : b;
      });
      const results = decodeCapture(c.format, frames);
      const last = results[results.length - 1]!;
      for (const r of results) {
        const p = problem(c.format, r);
        if (p) wrong.push(`${c.name}: ${p}`);
      }
      if (c.expect === 'accept' && !results.every((r) => r.ok)) wrong.push(`${c.name}: refused (${results.map((r) => (r.ok ? 'ok' : r.code)).join(', ')})`);
      if (c.expect === 'refuse' && (last.ok || (c.code && last.code !== c.code))) wrong.push(`${c.name}: got ${last.ok ? 'a measurement' : last.code}, expected ${c.code}`);
    }
    expect(wrong).toEqual([]);
  });
});
