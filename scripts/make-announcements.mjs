#!/usr/bin/env node
// Writes the test announcements in config/announcements/ (8 kHz, 16-bit PCM, mono WAV):
// speech-like syllables (a gliding harmonic voice through two formants, with pauses) so that
// codecs, pacing and "not in the recording" checks have real-looking audio, plus a plain beep.
// Deterministic: the same bytes on every run. Usage: node scripts/make-announcements.mjs [outDir]
import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RATE = 8000;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.argv[2] ?? join(root, 'config', 'announcements');

/** A small seeded PRNG (mulberry32), so the files never change between runs. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gain of harmonic `hz` through two formant resonances (vowel-like spectrum). */
function formantGain(hz, f1, f2) {
  const peak = (centre, width) => 1 / (1 + ((hz - centre) / width) ** 2);
  return 0.15 + peak(f1, 120) + 0.6 * peak(f2, 180);
}

/** Speech-like audio: `syllables` voiced syllables with pauses, pitch falling at the end (or rising: question). */
function speech({ seed, syllables, basePitch, question = false }) {
  const rand = random(seed);
  const out = [];
  for (let s = 0; s < syllables; s++) {
    const length = Math.round(RATE * (0.14 + 0.12 * rand()));
    const gap = Math.round(RATE * (s % 4 === 3 ? 0.25 : 0.04 + 0.06 * rand()));
    const f1 = 300 + 500 * rand();
    const f2 = 900 + 1300 * rand();
    const last = s === syllables - 1;
    const startPitch = basePitch * (0.9 + 0.25 * rand());
    const endPitch = last ? startPitch * (question ? 1.35 : 0.8) : startPitch * (0.92 + 0.12 * rand());
    let phase = 0;
    for (let n = 0; n < length; n++) {
      const progress = n / length;
      const f0 = startPitch + (endPitch - startPitch) * progress;
      phase += (2 * Math.PI * f0) / RATE;
      let value = 0;
      for (let h = 1; f0 * h < 3400; h++) value += (formantGain(f0 * h, f1, f2) * Math.sin(h * phase)) / Math.sqrt(h);
      // Syllable envelope: quick attack, slower decay
      const envelope = Math.min(1, progress / 0.15) * Math.min(1, (1 - progress) / 0.35);
      out.push(value * envelope);
    }
    for (let n = 0; n < gap; n++) out.push(0);
  }
  const peak = out.reduce((max, v) => Math.max(max, Math.abs(v)), 0) || 1;
  return Int16Array.from(out, (v) => Math.round((v / peak) * 12000));
}

/** A sine beep with 10 ms fades. */
function beep(hz, ms) {
  const length = Math.round((RATE * ms) / 1000);
  const fade = RATE / 100;
  return Int16Array.from({ length }, (_, n) => {
    const envelope = Math.min(1, n / fade, (length - 1 - n) / fade);
    return Math.round(12000 * envelope * Math.sin((2 * Math.PI * hz * n) / RATE));
  });
}

function wav(samples) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(s, 2 * i));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const files = {
  'inbound.wav': speech({ seed: 1, syllables: 9, basePitch: 190 }),
  'outbound.wav': speech({ seed: 2, syllables: 7, basePitch: 130 }),
  'consent-request.wav': speech({ seed: 3, syllables: 9, basePitch: 200, question: true }),
  // ITU-T recording warning tone frequency (1400 Hz), half a second
  'beep.wav': beep(1400, 500),
};
mkdirSync(outDir, { recursive: true });
for (const [name, samples] of Object.entries(files)) {
  writeFileSync(join(outDir, name), wav(samples));
  process.stdout.write(`${join(outDir, name)}: ${((samples.length / RATE) * 1000).toFixed(0)} ms\n`);
}
