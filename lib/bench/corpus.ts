/**
 * The utterances a benchmark speaks: jfk.wav (11 s of real speech) and sentences of 1–15 s that
 * espeak-ng says, resampled to 16 kHz by readAudio. Without espeak-ng, cuts of jfk of the same
 * lengths stand in (and the report says so).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAudio } from '../audio/read.js';
import { WHISPER_RATE } from '../audio/resample.js';
import { samplePath } from '../audio/sample.js';

export interface Utterance {
  name: string;
  pcm: Float32Array;
  seconds: number;
}

const SENTENCES = [
  'Yes.',
  'Send it now.',
  'Please call me back after lunch.',
  'The meeting moved to Thursday at three in the afternoon.',
  'Could you check whether the build on the main branch is green before we merge this change?',
  'I will be working from home tomorrow, so let us do the review over a video call instead of in the office.',
  'Dictation is only useful when it is faster than typing, which means the text has to appear almost as soon as you stop speaking, every single time.',
  'Add milk, eggs, flour, two lemons, a bag of coffee beans and something for dinner to the shopping list, and remind me to pick up the parcel from the post office on the way home.',
];

export function jfkPath(): string {
  return samplePath();
}

/**
 * What espeak-ng says for one sentence. PRISM_BENCH_SPEECH names a folder that keeps the WAVs, so a
 * machine without espeak-ng (the GPU machine) speaks the same corpus: bench/gpu/bundle.sh fills it here.
 */
function espeak(text: string, wpm: number): Buffer | undefined {
  const dir = process.env.PRISM_BENCH_SPEECH;
  const kept = dir ? join(dir, `${wpm}-${SENTENCES.indexOf(text)}.wav`) : undefined;
  if (kept && existsSync(kept)) return readFileSync(kept);
  try {
    const wav = execFileSync('espeak-ng', ['-v', 'en-us', '-s', String(wpm), '--stdout', text], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
    if (dir && kept) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(kept, wav);
    }
    return wav;
  } catch {
    return undefined;
  }
}

/** `count` utterances cycling through the sentences at a few speaking rates, plus jfk. */
export async function buildCorpus(count: number): Promise<{ utterances: Utterance[]; source: string }> {
  const jfk = await readAudio(jfkPath());
  const utterances: Utterance[] = [{ name: 'jfk', pcm: jfk, seconds: jfk.length / WHISPER_RATE }];
  const rates = [150, 175, 200];
  let synthetic = true;
  for (let i = 0; utterances.length < count; i++) {
    const text = SENTENCES[i % SENTENCES.length] as string;
    const wav = synthetic ? espeak(text, rates[Math.floor(i / SENTENCES.length) % rates.length] as number) : undefined;
    if (!wav) {
      synthetic = false;
      const seconds = 1 + ((i * 7) % 14); // 1–14 s cuts of jfk
      utterances.push({ name: `jfk-${seconds}s`, pcm: jfk.subarray(0, Math.min(jfk.length, seconds * WHISPER_RATE)), seconds: Math.min(11, seconds) });
      continue;
    }
    const pcm = await readAudio(wav);
    utterances.push({ name: `espeak-${i}`, pcm, seconds: pcm.length / WHISPER_RATE });
  }
  return { utterances, source: synthetic ? 'jfk.wav + espeak-ng en-us sentences' : 'jfk.wav and cuts of it (espeak-ng not installed)' };
}
