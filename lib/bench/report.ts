/** Renders a benchmark result as Markdown tables (the form BENCHMARKS.md keeps). */
import type { BenchResult } from './main.js';
import { fmt } from './stats.js';

const f1 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));

export function renderReport(r: BenchResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`## ${m.date} — ${m.cpu} (${m.cores} threads), ${m.memGiB} GiB, ${m.device}; Node ${m.node}, whisper.cpp ${m.whisperVersion}${r.quick ? ' — QUICK' : ''}`);
  out.push(`Command: \`${r.command}\`. Runs per figure: ${r.runs}. Medians (min–max, n). Audio: jfk.wav (11 s); models: ${r.models}.`);
  for (const s of r.sizes) {
    out.push('', `### ${s.size} on ${s.backend} (${s.threads} threads), load ${s.loadMs.toFixed(0)} ms incl. warm-up ${s.warmupMs.toFixed(0)} ms`);
    out.push('', '**Cold process vs warm model** (greedy; the full 30 s window, and the window `auto` picks, given to whisper-cli as -ac)', '');
    out.push('| window | what | wall | × warm |', '|---|---|---|---|');
    for (const c of s.cold) out.push(`| ${c.window} | ${c.what} | ${c.wallMs ? fmt(c.wallMs) : (c.note ?? '–')} | ${c.ratioToWarm ? `${c.ratioToWarm.toFixed(1)}×` : '–'} |`);
    out.push('', "**prism vs upstream whisper-cli, same run** (jfk, greedy, no fallback, auto window; upstream's own timings, without its load)", '');
    if (typeof s.upstream === 'string') out.push(s.upstream);
    else {
      out.push('| what | call | mel | encode | after encode, ms/token | sampling, ms/token | × upstream |', '|---|---|---|---|---|---|---|');
      for (const u of s.upstream) {
        out.push(
          `| ${u.what} | ${fmt(u.totalMs)} | ${f1(u.melMs)} | ${f1(u.encodeMs)} | ${u.afterEncodeMsPerToken.toFixed(2)} | ${u.sampleMsPerToken?.toFixed(2) ?? '(in the column before)'} | ${u.ratio?.toFixed(2) ?? '–'}× |`,
        );
      }
    }
    out.push(
      '',
      '**Engine breakdown of a warm call**',
      '',
      '| window | decoding | audio_ctx | total | mel | encode | decode | tokens | ms/token | longest event-loop gap |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const e of s.engine) {
      out.push(
        `| ${e.window} | ${e.decoding} | ${e.audioCtx} | ${fmt(e.totalMs)} | ${f1(e.melMs.p50)} | ${f1(e.encodeMs.p50)} | ${f1(e.decodeMs.p50)} | ${e.tokens} | ${e.msPerToken.toFixed(2)} | ${f1(e.loopGapMs)} ms |`,
      );
    }
    out.push('', '**Concurrency** (N streams on N states, jfk, auto window)', '', '| streams | audio s / wall s | × one | latency per request |', '|---|---|---|---|');
    for (const c of s.concurrency) out.push(`| ${c.streams} | ${c.audioSecondsPerSecond.toFixed(1)} | ${c.speedup.toFixed(2)}× | ${fmt(c.latencyMs)} |`);
    const q = s.priority;
    out.push(
      '',
      `**Priority lane** (${q.clients} HTTP clients keep ${q.states} states busy with ${q.uploadSeconds} s uploads to \`serve\`; a 2 s dictation arrives; its queue time)`,
      '',
      '| the dictation sent as | queue p50 | queue p95 | range |',
      '|---|---|---|---|',
      `| interactive (the daemon) | ${f1(q.interactiveQueueMs.p50)} ms | ${f1(q.interactiveQueueMs.p95)} ms | ${fmt(q.interactiveQueueMs)} |`,
      `| batch (no lane: first come, first served) | ${f1(q.batchQueueMs.p50)} ms | ${f1(q.batchQueueMs.p95)} ms | ${fmt(q.batchQueueMs)} |`,
    );
    const p = s.pipeline;
    out.push(
      '',
      `**Dictation stages** (the daemon's pipeline and stage timer: WebRTC VAD mode 3, hangover ${p.hangoverMs} ms, auto window; ${p.utterances} utterances of ${p.secondsRange[0].toFixed(1)}–${p.secondsRange[1].toFixed(1)} s: ${p.source})`,
      '',
    );
    out.push('| stage | p50 ms | p95 ms |', '|---|---|---|');
    const names: Record<string, string> = {
      endOfSpeech: 'end-of-speech decision (last voiced frame → end, audio time)',
      textReady: 'end decided → text ready',
      speechEndToText: 'speech ended → text ready',
    };
    for (const [k, v] of Object.entries(p.stages)) out.push(`| ${names[k] ?? k} | ${f1(v.p50)} | ${f1(v.p95)} |`);
    for (const b of p.byLength) out.push(`| text ready, ${b.bucket} (n=${b.n}) | ${f1(b.textReadyMs.p50)} | ${f1(b.textReadyMs.p95)} |`);
    const res = s.resources;
    out.push(
      '',
      `**Resources**: peak RSS of the bench process ${res.peakRssMiB.toFixed(0)} MiB; weights ${res.modelMiB.toFixed(0)} MiB; per state ${res.stateMiB.toFixed(0)} MiB${res.gpuMiBPerState !== undefined ? ` (GPU ${res.gpuMiBPerState.toFixed(0)} MiB)` : ''}; idle loaded model ${res.idleCpuPercent.toFixed(2)} % of one core over ${res.idleSeconds} s.`,
    );
  }
  if (r.alternatives.length > 0) {
    out.push('', '### The alternatives a user would install (tiny, jfk)', '', '| what | wall | × prism warm | longest event-loop gap | note |', '|---|---|---|---|---|');
    for (const a of r.alternatives)
      out.push(
        `| ${a.what} | ${a.wallMs ? fmt(a.wallMs) : '–'} | ${a.ratioToPrism ? `${a.ratioToPrism.toFixed(1)}×` : '–'} | ${a.loopGapMs === undefined ? '–' : `${f1(a.loopGapMs)} ms`} | ${a.note ?? ''} |`,
      );
  }
  return out.join('\n');
}
