/**
 * The page's script (plain ES2017, run by the browser, kept here as a string so that it ships in
 * dist/ with the rest). It listens to /events, keeps the last dictations (each with its phrases) and
 * resource samples, and draws them with uPlot. Dictated text goes into the DOM only as textContent,
 * and not at all while "hide text" is on.
 */
import { tickLabels, zeroRange } from './axes.js';

export const PAGE_JS = `(function () {
  'use strict';
  var zeroRange = ${zeroRange.toString()};
  var tickLabels = ${tickLabels.toString()};
  var token = new URLSearchParams(location.search).get('token') || '';
  var q = '?token=' + encodeURIComponent(token);
  var STAGES = ['trigger', 'capture', 'endOfSpeech', 'transcription', 'paste'];
  var LABELS = { trigger: 'trigger', capture: 'capture', endOfSpeech: 'end of speech', transcription: 'transcription', paste: 'paste', total: 'total' };
  var COLORS = { trigger: '#8e8cd8', capture: '#4e9de0', endOfSpeech: '#f0a030', transcription: '#e05a5a', paste: '#50b070' };
  var HIDE_KEY = 'prism-dictate.dashboard.hideText';
  var KEEP = 50;
  var $ = function (id) { return document.getElementById(id); };
  /** dictations, oldest first: { id, at, state, phrases: [phrase…] } */
  var items = [];
  var samples = [];
  var host = null;
  var hidden = localStorage.getItem(HIDE_KEY) === '1';

  function ms(v) { return typeof v === 'number' && isFinite(v) ? (v < 10 ? v.toFixed(1) : v.toFixed(0)) : '–'; }
  function mib(b) { return typeof b === 'number' ? b / 1048576 : null; }
  function pct(v) { return typeof v === 'number' ? v : null; }
  function done() { return items.filter(function (d) { return d.state === 'done' || d.state === 'copied'; }); }
  /** the phrase that carries a dictation's end (its total, paste), else its last */
  function carrier(d) {
    for (var i = d.phrases.length - 1; i >= 0; i--) if (d.phrases[i].times.total != null) return d.phrases[i];
    return d.phrases[d.phrases.length - 1] || { times: {} };
  }
  /** a dictation's words: its phrases' texts in order, one space between */
  function words(d) {
    return d.phrases.reduce(function (a, p) { return p.text == null || !p.text.trim() ? a : a && !/\\s$/.test(a) ? a + ' ' + p.text : a + p.text; }, '');
  }
  /** the latest value of a series that has one */
  function latest(xs) { for (var i = xs.length - 1; i >= 0; i--) if (typeof xs[i] === 'number' && isFinite(xs[i])) return xs[i]; return null; }
  /** the same percentile as the daemon's status: the value at rank ceil(p/100 * n) */
  function percentile(xs, p) {
    var s = xs.slice().sort(function (a, b) { return a - b; });
    return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : null;
  }

  // ---- charts --------------------------------------------------------------------------------
  function size(el) { return { width: Math.max(260, el.clientWidth - 4), height: 200 }; }
  // y from 0, and tick labels with the decimals they need (no two alike, no thousands separators), in a wide enough gutter
  function make(id, series, scaleX, values) {
    var el = $(id);
    el.textContent = '';
    var s = size(el);
    // legend: the series' names only (no live values, which read "–" until the pointer is over the chart)
    return new uPlot({ width: s.width, height: s.height, legend: { live: false }, scales: { x: scaleX, y: { range: zeroRange } }, series: [{ label: 'x', value: values }].concat(series), axes: [scaleX.time ? { values: clockLabels, space: 80 } : { incrs: [1, 2, 5, 10, 20, 50] }, { size: 64, values: tickLabels }] }, [[]].concat(series.map(function () { return []; })), el);
  }
  /** one time zone on the page: the browser's, as the daemon's terminal shows it */
  function when(iso) {
    var d = new Date(iso);
    var today = new Date().toDateString() === d.toDateString();
    var time = d.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });
    return today ? time : d.toLocaleDateString() + ' ' + time;
  }
  // one line of 24-hour wall-clock time per tick (uPlot's default adds a second row with the date, which overlaps)
  function clockLabels(u, splits) {
    return splits.map(function (t) { return new Date(t * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' }); });
  }
  var indexScale = { time: false, range: function (u, min, max) { return min == null ? [0, 1] : [min - 0.6, max + 0.6]; } };
  var bars = uPlot.paths.bars({ size: [0.7, 48] });
  // What people feel: from the end of their speech to the text in the window, as stacked bars (each
  // series is the sum up to its stage, drawn longest first so shorter ones cover it). The capture —
  // seconds of speaking — gets its own chart, so that it does not flatten these milliseconds.
  var AFTER = ['endOfSpeech', 'transcription', 'paste'];
  var stackOrder = AFTER.slice().reverse();
  var stagesChart = make('chart-stages', stackOrder.map(function (s) {
    return { label: LABELS[s], fill: COLORS[s], stroke: COLORS[s], paths: bars, points: { show: false } };
  }), indexScale, function (u, v) { return v == null ? '' : '#' + v; });
  var captureChart = make('chart-capture', [
    { label: 'capture', fill: COLORS.capture, stroke: COLORS.capture, paths: bars, points: { show: false } },
  ], indexScale, function (u, v) { return v == null ? '' : '#' + v; });
  var latencyChart = make('chart-latency', [
    { label: 'total p50', stroke: '#4e9de0', width: 2 },
    { label: 'total p95', stroke: '#4e9de0', dash: [6, 4] },
    { label: 'transcription p50', stroke: '#e05a5a', width: 2 },
    { label: 'transcription p95', stroke: '#e05a5a', dash: [6, 4] },
  ], indexScale, function (u, v) { return v == null ? '–' : '#' + v; });
  // the GPU's series only on a machine with a GPU: the charts are made again once one shows up
  var withGpu = false;
  var cpuChart, memChart;
  function makeResourceCharts() {
    if (cpuChart) { cpuChart.destroy(); memChart.destroy(); }
    cpuChart = make('chart-cpu', [
      { label: 'daemon', stroke: '#4e9de0', width: 2 },
      { label: 'engine', stroke: '#e05a5a', width: 2 },
    ].concat(withGpu ? [{ label: 'GPU util', stroke: '#50b070', width: 2 }] : []), { time: true });
    memChart = make('chart-mem', [
      { label: 'daemon RSS', stroke: '#4e9de0', width: 2 },
      { label: 'engine RSS', stroke: '#e05a5a', width: 2 },
    ].concat(withGpu ? [{ label: 'GPU memory', stroke: '#50b070', width: 2 }] : []), { time: true });
  }
  makeResourceCharts();
  // the charts, for a test (or someone curious) to read what they hold
  window.prismDashboard = { get charts() { return { stages: stagesChart, capture: captureChart, latency: latencyChart, cpu: cpuChart, mem: memChart }; } };
  window.addEventListener('resize', function () {
    [['chart-stages', stagesChart], ['chart-capture', captureChart], ['chart-latency', latencyChart], ['chart-cpu', cpuChart], ['chart-mem', memChart]].forEach(function (p) { p[1].setSize(size($(p[0]))); });
  });

  function drawDictations() {
    var dictations = done();
    // one bar per dictation: its end (the carrier phrase) for the stages, all its phrases for the speaking
    var d = dictations.map(carrier);
    var x = d.map(function (_, i) { return i + 1; });
    stagesChart.setData([x].concat(stackOrder.map(function (s) {
      var upto = AFTER.slice(0, AFTER.indexOf(s) + 1);
      return d.map(function (r) { return upto.reduce(function (a, k) { return a + (r.times[k] || 0); }, 0); });
    })));
    captureChart.setData([x, dictations.map(function (g) {
      return g.phrases.reduce(function (a, r) { return a + (r.times.trigger || 0) + (r.times.capture || 0); }, 0) / 1000;
    })]);
    var lines = [[], [], [], []];
    d.forEach(function (_, i) {
      var seen = d.slice(0, i + 1);
      var total = seen.map(function (r) { return r.times.total; }).filter(isFinite);
      var tr = seen.map(function (r) { return r.times.transcription; }).filter(isFinite);
      lines[0].push(percentile(total, 50)); lines[1].push(percentile(total, 95));
      lines[2].push(percentile(tr, 50)); lines[3].push(percentile(tr, 95));
    });
    latencyChart.setData([x].concat(lines));
  }

  function drawSamples() {
    if (!withGpu && samples.some(function (s) { return s.gpu.gpus && s.gpu.gpus.length; })) { withGpu = true; makeResourceCharts(); }
    var x = samples.map(function (s) { return s.at / 1000; });
    var gpu = function (s) { return s.gpu.gpus ? s.gpu.gpus[0] : null; };
    var cpu = [samples.map(function (s) { return pct(s.daemon.cpu); }), samples.map(function (s) { return s.engine ? pct(s.engine.cpu) : null; })];
    var mem = [samples.map(function (s) { return mib(s.daemon.rssBytes); }), samples.map(function (s) { return s.engine ? mib(s.engine.rssBytes) : null; })];
    if (withGpu) {
      cpu.push(samples.map(function (s) { var g = gpu(s); return g ? g.utilization : null; }));
      mem.push(samples.map(function (s) { var g = gpu(s); return g ? g.memoryUsedMiB : null; }));
    }
    cpuChart.setData([x].concat(cpu));
    memChart.setData([x].concat(mem));
    var last = samples[samples.length - 1];
    if (!last) return;
    // the captions: the latest value each series has (a first sample has no CPU figure yet)
    var one = function (v) { return typeof v === 'number' ? v.toFixed(1) : '–'; };
    $('cpu-now').textContent = 'now: daemon ' + one(latest(cpu[0])) + ' %, engine ' + one(latest(cpu[1])) + ' %';
    $('mem-now').textContent = 'now: daemon ' + one(latest(mem[0])) + ' MiB, engine ' + one(latest(mem[1])) + ' MiB';
    $('gpu-now').textContent = last.gpu.gpus
      ? last.gpu.gpus.map(function (g) { return 'GPU ' + g.index + ': ' + g.utilization + ' %, ' + g.memoryUsedMiB + ' / ' + g.memoryTotalMiB + ' MiB'; }).join('; ')
      : last.gpu.none;
  }

  // ---- text --------------------------------------------------------------------------------------
  function drawTable() {
    var lastDone = done()[done().length - 1];
    // the last dictation's stages: its end from the phrase that carries it, its trigger from its first
    var last = lastDone ? { times: Object.assign({ trigger: lastDone.phrases[0].times.trigger }, carrier(lastDone).times) } : null;
    var latency = (host && host.latency) || {};
    var body = $('stage-table').tBodies[0];
    body.textContent = '';
    STAGES.concat(['total']).forEach(function (s) {
      var tr = body.insertRow();
      tr.dataset.stage = s;
      var l = latency[s] || {};
      [LABELS[s], last ? ms(last.times[s]) : '–', ms(l.p50), ms(l.p95), l.n == null ? '0' : String(l.n)].forEach(function (v) { tr.insertCell().textContent = v; });
    });
  }

  /** where the text went: the window (where the desktop says), the clipboard, standard output */
  function whereTo(d) {
    var p = d.phrases.filter(function (p) { return p.delivered; }).pop();
    if (!p) return d.state === 'done' || d.state === 'copied' ? '' : 'nothing delivered';
    if (p.window) return '→ ' + p.window;
    if (p.delivered === 'clipboard') return '→ the clipboard (to paste)';
    if (p.delivered === 'stdout') return '→ standard output';
    return '→ the focused window (this desktop does not say which)';
  }
  var players = {};
  var retryResults = {};
  function player(p) {
    var a = players[p.id];
    if (!a) {
      a = document.createElement('audio');
      a.controls = true;
      a.preload = 'none';
      a.src = 'audio/' + encodeURIComponent(p.id) + '.wav' + q;
      players[p.id] = a;
    }
    return a;
  }
  function retry(p, out) {
    out.textContent = 'transcribing again…';
    retryResults[p.id] = out.textContent;
    fetch('api/retry' + '?id=' + encodeURIComponent(p.id), { method: 'POST', headers: { 'X-Prism-Token': encodeURIComponent(token) } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (r) {
        var b = r.body;
        var said = !r.ok ? 'failed: ' + b.error : b.outcome === 'nothing' ? 'retried: no words heard' : b.outcome === 'copied' ? 'retried: copied to the clipboard — ' + (b.hint || 'paste it') : 'retried: ' + b.outcome;
        retryResults[p.id] = said;
        var el = document.querySelector('li.phrase[data-id="' + p.id + '"] .retry-result');
        if (el) el.textContent = said;
      })
      .catch(function (e) { retryResults[p.id] = String(e); out.textContent = String(e); });
  }
  function drawList() {
    var list = $('dictations');
    list.textContent = '';
    // players of phrases no longer listed go (a playing one stays while its phrase is listed)
    var listed = {};
    items.forEach(function (d) { d.phrases.forEach(function (p) { listed[p.id] = true; }); });
    Object.keys(players).forEach(function (id) { if (!listed[id]) delete players[id]; });
    items.slice().reverse().forEach(function (d) {
      var li = document.createElement('li');
      li.className = 'dictation';
      li.dataset.id = d.id;
      li.dataset.state = d.state;
      li.dataset.phrases = String(d.phrases.length);
      var head = document.createElement('div');
      head.className = 'head';
      li.appendChild(head);
      var cell = function (parent, cls, text) { var s = document.createElement('span'); s.className = cls; s.textContent = text; parent.appendChild(s); return s; };
      var end = carrier(d);
      cell(head, 'when', when(d.at));
      cell(head, 'state', d.state);
      cell(head, 'total', end.times.total == null ? '' : ms(end.times.total) + ' ms');
      cell(head, 'count', d.phrases.length === 1 ? '1 phrase' : d.phrases.length + ' phrases');
      cell(head, 'window', whereTo(d));
      var all = words(d);
      if (!hidden && all) {
        var copy = document.createElement('button');
        copy.type = 'button';
        copy.className = 'copy';
        copy.textContent = 'copy';
        copy.addEventListener('click', function () {
          navigator.clipboard.writeText(all).then(function () { copy.textContent = 'copied'; }, function (e) { copy.textContent = String(e); });
        });
        head.appendChild(copy);
      }
      var ol = document.createElement('ol');
      ol.className = 'phrases';
      d.phrases.forEach(function (p) {
        var pl = document.createElement('li');
        pl.className = 'phrase';
        pl.dataset.id = p.id;
        pl.dataset.state = p.state;
        cell(pl, 'n', String(p.phrase));
        cell(pl, 'seconds', p.seconds.toFixed(1) + ' s');
        if (hidden) cell(pl, 'text hidden', '(hidden)');
        else if (p.text != null) cell(pl, 'text', p.text);
        else cell(pl, 'text hidden', p.error || (p.state === 'no-speech' ? '(no speech)' : '(text not shown: dashboard.showText is off)'));
        var tools = document.createElement('span');
        tools.className = 'tools';
        pl.appendChild(tools);
        if (p.audio) {
          tools.appendChild(player(p));
          var again = document.createElement('button');
          again.type = 'button';
          again.className = 'retry';
          again.textContent = 'retry';
          again.title = 'transcribe this audio again and paste the text';
          var out = document.createElement('span');
          out.className = 'retry-result';
          out.textContent = retryResults[p.id] || '';
          again.addEventListener('click', function () { retry(p, out); });
          tools.appendChild(again);
          tools.appendChild(out);
        }
        ol.appendChild(pl);
      });
      li.appendChild(ol);
      list.appendChild(li);
    });
  }

  function drawLevel(rms) {
    var db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
    $('mic-meter').value = Math.max(0, Math.min(1, (db + 60) / 60));
    $('mic-db').textContent = isFinite(db) ? db.toFixed(0) + ' dBFS' : 'silence';
  }

  function drawHost() {
    $('rec-state').textContent = host ? host.state : 'off (--no-host)';
    $('dictation-count').textContent = host && host.counts ? String(host.counts.dictations) : '0';
    $('phrase-count').textContent = host && host.counts && host.counts.phrases != null ? String(host.counts.phrases) : '0';
  }

  function drawService(s, events) {
    $('service-state').textContent = s.state;
    $('service-backend').textContent = s.backend + ' (' + s.engine + ')';
    $('restarts').textContent = String(s.restarts);
    var errors = Object.keys(s.errors || {}).reduce(function (a, k) { return a + s.errors[k]; }, 0) + (host && host.counts ? host.counts.failed : 0);
    $('errors').textContent = String(errors);
    $('fallbacks').textContent = String(s.fallbacks);
    $('queue').textContent = s.queue.running + ' / ' + s.queue.waiting;
    if (events) {
      var ul = $('events');
      ul.textContent = '';
      events.slice(-10).reverse().forEach(function (e) { var li = document.createElement('li'); li.textContent = when(e.at) + ' ' + e.event + ': ' + e.detail; ul.appendChild(li); });
    }
  }

  // ---- live ----------------------------------------------------------------------------------------
  var events = [];
  function conn(text, cls) { var b = $('conn'); b.textContent = text; b.className = 'badge ' + cls; }
  function on(es, name, fn) { es.addEventListener(name, function (m) { fn(JSON.parse(m.data)); }); }
  function connect() {
    var es = new EventSource('events' + q);
    es.onopen = function () { conn('live', 'ok'); };
    es.onerror = function () {
      conn('reconnecting…', 'bad');
      // EventSource retries by itself after a dropped stream, but gives up after a refused one
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
    on(es, 'snapshot', function (d) {
      items = d.recent; samples = d.samples; host = d.host; events = d.events;
      var a = d.about || {};
      $('about').textContent = ['model ' + a.model, a.backend, a.output ? 'output ' + a.output : null, a.hotkey ? 'hotkey ' + a.hotkey + (a.mode ? ', ' + a.mode : '') : null]
        .filter(Boolean).join(' · ');
      $('mic-name').textContent = a.microphone || (host ? '–' : 'none (--no-host)');
      $('hotkey-hint').textContent = a.hint || (host ? '–' : 'none (--no-host): this daemon does not dictate');
      drawHost(); drawService(d.service, events); drawDictations(); drawTable(); drawList(); drawSamples();
    });
    on(es, 'dictation', function (d) {
      // the whole dictation as it is now: in place of the one with its id, or a new one at the end
      var i = items.findIndex(function (g) { return g.id === d.dictation.id; });
      if (i >= 0) items[i] = d.dictation;
      else { items.push(d.dictation); if (items.length > KEEP) items.shift(); }
      host = d.host;
      drawHost(); drawDictations(); drawTable(); drawList();
    });
    on(es, 'state', function (d) { if (d.host) host = d.host; else if (host) host.state = d.state; if (host) drawHost(); });
    on(es, 'service', function (d) { events.push(d.event); drawService(d.service, events); });
    on(es, 'level', function (d) { drawLevel(d.rms); });
    on(es, 'sample', function (d) {
      samples.push(d.sample); if (samples.length > 150) samples.shift();
      drawService(d.service); drawSamples();
    });
  }

  $('hide-text').checked = hidden;
  $('hide-text').addEventListener('change', function (e) {
    hidden = e.target.checked;
    localStorage.setItem(HIDE_KEY, hidden ? '1' : '0');
    drawList();
  });
  $('repaste').addEventListener('click', function () {
    var out = $('repaste-result');
    out.textContent = '…';
    // the token in a header, as no form from another site can send it (the server asks that of a POST)
    fetch('api/repaste', { method: 'POST', headers: { 'X-Prism-Token': encodeURIComponent(token) } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (r) {
        var b = r.body;
        out.textContent = !r.ok ? 'failed: ' + b.error : b.outcome === 'copied' ? 'copied to the clipboard — ' + (b.hint || 'paste it') : (b.outcome || 'pasted') + ' again';
      })
      .catch(function (e) { out.textContent = String(e); });
  });
  connect();
})();
`;
