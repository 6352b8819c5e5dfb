/** A Transcript in each of the response_format values OpenAI's transcription endpoint offers. */
import { deflateSync } from 'node:zlib';
import { languageName } from '../engine/languages.js';
import type { Transcript } from '../model.js';

export const RESPONSE_FORMATS = ['json', 'text', 'verbose_json', 'srt', 'vtt'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

/** A segment as OpenAI's verbose_json has it. */
export interface VerboseSegment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
}

export interface VerboseJson {
  task: 'transcribe' | 'translate';
  language: string;
  duration: number;
  text: string;
  segments: VerboseSegment[];
}

/** The gzip-style ratio Whisper reports: text bytes over their deflated bytes (high means repetition). */
function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length === 0 ? 0 : Math.round((bytes.length / deflateSync(bytes).length) * 1000) / 1000;
}

/**
 * The engine does not report token ids, log-probabilities or no-speech probabilities per segment.
 * Those fields get neutral values (no tokens, avg_logprob 0, no_speech_prob 0) that the usual
 * client-side filters (drop when no_speech_prob > 0.6 and avg_logprob < −1) never act on.
 */
export function verboseJson(t: Transcript, task: VerboseJson['task']): VerboseJson {
  return {
    task,
    language: languageName(t.language),
    duration: t.audioMs / 1000,
    text: t.text,
    segments: t.segments.map((s, id) => ({
      id,
      seek: Math.floor(s.t0Ms / 30_000) * 3000, // the 30 s window (in 10 ms mel frames) it was decoded in
      start: s.t0Ms / 1000,
      end: s.t1Ms / 1000,
      text: ` ${s.text}`, // Whisper's segments start with the space of their first token
      tokens: [],
      temperature: 0,
      avg_logprob: 0,
      compression_ratio: compressionRatio(s.text),
      no_speech_prob: 0,
    })),
  };
}

/** hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (WebVTT). */
export function timestamp(ms: number, separator: ',' | '.'): string {
  const t = Math.max(0, Math.round(ms));
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(Math.floor(t / 3_600_000))}:${pad(Math.floor(t / 60_000) % 60)}:${pad(Math.floor(t / 1000) % 60)}${separator}${pad(t % 1000, 3)}`;
}

export function srt(t: Transcript): string {
  return t.segments.map((s, i) => `${i + 1}\n${timestamp(s.t0Ms, ',')} --> ${timestamp(s.t1Ms, ',')}\n${s.text}\n\n`).join('');
}

export function vtt(t: Transcript): string {
  return `WEBVTT\n\n${t.segments.map((s) => `${timestamp(s.t0Ms, '.')} --> ${timestamp(s.t1Ms, '.')}\n${s.text}\n\n`).join('')}`;
}

/** The body and content type of an answer. */
export function render(t: Transcript, format: ResponseFormat, task: VerboseJson['task']): { body: string; type: string } {
  switch (format) {
    case 'json':
      return { body: JSON.stringify({ text: t.text }), type: 'application/json' };
    case 'verbose_json':
      return { body: JSON.stringify(verboseJson(t, task)), type: 'application/json' };
    case 'text':
      return { body: `${t.text}\n`, type: 'text/plain; charset=utf-8' };
    case 'srt':
      return { body: srt(t), type: 'text/plain; charset=utf-8' };
    case 'vtt':
      return { body: vtt(t), type: 'text/vtt; charset=utf-8' };
  }
}
