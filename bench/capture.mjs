#!/usr/bin/env node
// Microphone capture backends side by side (issue 25): for each, a fresh process opens the default
// input as the daemon does (idle stream + live stream on demand) and the bench measures
//   - first block: from openCapture() to the first audio delivered (openCapture resolves then too)
//   - idle CPU: utime+stime of that process and its children (the capture child / recorders), and of
//     the sound server when its pid is given, over --seconds of idle capture, as % of one core
// Rounds alternate the backends (A B A B …) so that a load change hits both. Run after npm run build,
// against the sound server in the environment (PULSE_SERVER etc.):
//   node bench/capture.mjs [--seconds 30] [--rounds 3] [--backends parec,portaudio] [--device NAME] [--server-pid PID]
// --device: an input by name (default: the default input). A PulseAudio null sink's monitor (the
// test desktop's vmic) renders in cycles of up to 2 s while nothing plays, so its first block comes
// late whatever reads it; module-sine-source runs at the latency its clients ask, as a sound card does.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'parec,portaudio' },
    'server-pid': { type: 'string' },
    device: { type: 'string' },
    run: { type: 'string' },
  },
});

if (values.run) await runOne(values.run);
else await main();

/** The child: opens the capture, says when the first block came, idles until told to stop. */
async function runOne(backend) {
  const { openCapture } = await import('../dist/host/capture.js');
  const t0 = performance.now();
  let firstMs;
  let samples = 0;
  const cap = await openCapture({
    backend,
    ...(values.device ? { device: values.device } : {}),
    onData: (pcm) => {
      firstMs ??= performance.now() - t0;
      samples += pcm.length;
    },
    onError: (e) => process.stderr.write(`${e.message}\n`),
  });
  const openMs = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ firstMs, openMs, device: cap.device.name, streams: cap.streams })}\n`);
  process.stdin.once('data', async () => {
    await cap.stop();
    process.stdout.write(`${JSON.stringify({ samples })}\n`);
    process.exit(0);
  });
}

function ticks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return 0;
  }
}

function descendants(root) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

function lines(stream) {
  let buf = '';
  const waiting = [];
  stream.setEncoding('utf8');
  stream.on('data', (s) => {
    buf += s;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  return () => new Promise((resolve) => waiting.push(resolve));
}

async function measure(backend, seconds, serverPid) {
  const device = values.device ? ['--device', values.device] : [];
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--run', backend, ...device], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (s) => {
    stderr += s;
  });
  const failed = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${backend}: the capture process ended (${code}): ${stderr.trim()}`))));
  const read = lines(child.stdout);
  const next = () => Promise.race([read(), failed]);
  const ready = JSON.parse(await next());
  await new Promise((r) => setTimeout(r, 2000)); // settle
  const pids = descendants(child.pid);
  const hz = 100; // USER_HZ on Linux
  const a = pids.map(ticks);
  const s0 = serverPid ? ticks(serverPid) : 0;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = pids.map(ticks);
  const s1 = serverPid ? ticks(serverPid) : 0;
  child.stdin.write('stop\n');
  const { samples } = JSON.parse(await next());
  const pct = (t) => (100 * t) / hz / seconds;
  return {
    backend,
    ...ready,
    processes: pids.length,
    daemonCpu: pct((b[0] ?? 0) - (a[0] ?? 0)),
    childCpu: pct(b.slice(1).reduce((x, y) => x + y, 0) - a.slice(1).reduce((x, y) => x + y, 0)),
    serverCpu: serverPid ? pct(s1 - s0) : undefined,
    samples,
  };
}

async function main() {
  const seconds = Number(values.seconds);
  const backends = values.backends.split(',');
  const serverPid = values['server-pid'] ? Number(values['server-pid']) : undefined;
  const rows = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const backend of backends) {
      const row = await measure(backend, seconds, serverPid).catch((e) => {
        console.log(e.message.split('\n')[0]);
        return undefined;
      });
      if (!row) continue;
      rows.push(row);
      const server = row.serverCpu === undefined ? '' : `, server ${row.serverCpu.toFixed(2)} %`;
      console.log(
        `${backend.padEnd(9)} first block ${row.firstMs.toFixed(0).padStart(5)} ms; idle CPU over ${seconds} s: daemon ${row.daemonCpu.toFixed(2)} % + capture processes (${row.processes - 1}) ${row.childCpu.toFixed(2)} %${server}  [${row.device}, ${row.streams} stream(s)]`,
      );
    }
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  console.log('\nmedians:');
  for (const backend of backends) {
    const mine = rows.filter((x) => x.backend === backend);
    if (!mine.length) continue;
    const server = serverPid ? `; server ${median(mine.map((x) => x.serverCpu)).toFixed(2)} %` : '';
    console.log(
      `${backend.padEnd(9)} first block ${median(mine.map((x) => x.firstMs)).toFixed(0)} ms; idle CPU daemon+capture ${median(mine.map((x) => x.daemonCpu + x.childCpu)).toFixed(2)} % of a core${server}`,
    );
  }
}
