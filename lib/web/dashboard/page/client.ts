/**
 * The page's script (plain ES2017, run by the browser, kept here as a string so that it ships in
 * dist/ with the rest). It listens to /events, keeps the last dictations and resource samples, and
 * draws them with uPlot. Dictated text goes into the DOM only as textContent, and not at all while
 * "hide text" is on.
 */
export const PAGE_JS = `(function () {
  'use strict';
  var token = new URLSearchParams(location.search).get('token') || '';
  var q = '?token=' + encodeURIComponent(token);
  var STAGES = ['trigger', 'capture', 'endOfSpeech', 'transcription', 'paste'];
  var LABELS = { trigger: 'trigger', capture: 'capture', endOfSpeech: 'end of speech', transcription: 'transcription', paste: 'paste', total: 'total' };
  var COLORS = { trigger: '#8e8cd8', capture: '#4e9de0', endOfSpeech: '#f0a030', transcription: '#e05a5a', paste: '#50b070' };
  var HIDE_KEY = 'prism-dictate.dashboard.hideText';
  var KEEP = 50;
  var $ = function (id) { return document.getElementById(id); };
  var items = [];
  var samples = [];
  var host = null;
  var hidden = localStorage.getItem(HIDE_KEY) === '1';

  function ms(v) { return typeof v === 'number' && isFinite(v) ? (v < 10 ? v.toFixed(1) : v.toFixed(0)) : '–'; }
  function mib(b) { return typeof b === 'number' ? b / 1048576 : null; }
  function pct(v) { return typeof v === 'number' ? v : null; }
  function done() { return items.filter(function (d) { return d.state === 'done' || d.state === 'copied'; }); }
  /** the same percentile as the daemon's status: the value at rank ceil(p/100 * n) */
  function percentile(xs, p) {
    var s = xs.slice().sort(function (a, b) { return a - b; });
    return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : null;
  }

  // ---- charts --------------------------------------------------------------------------------
  function size(el) { return { width: Math.max(260, el.clientWidth - 4), height: 200 }; }
  // y-axis numbers without thousands separators ("1200", not "1,200" cut to "0,000"), in a wide enough gutter
  function plain(u, splits) { return splits.map(function (v) { return v == null ? '' : Math.abs(v) >= 100 ? v.toFixed(0) : String(Math.round(v * 10) / 10); }); }
  function make(id, series, scaleX, values) {
    var el = $(id);
    var s = size(el);
    // legend: the series' names only (no live values, which read "–" until the pointer is over the chart)
    return new uPlot({ width: s.width, height: s.height, legend: { live: false }, scales: { x: scaleX }, series: [{ label: 'x', value: values }].concat(series), axes: [scaleX.time ? { values: clockLabels, space: 80 } : { incrs: [1, 2, 5, 10, 20, 50] }, { size: 64, values: plain }] }, [[]].concat(series.map(function () { return []; })), el);
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
  var cpuChart = make('chart-cpu', [
    { label: 'daemon', stroke: '#4e9de0', width: 2 },
    { label: 'engine', stroke: '#e05a5a', width: 2 },
    { label: 'GPU util', stroke: '#50b070', width: 2 },
  ], { time: true });
  var memChart = make('chart-mem', [
    { label: 'daemon RSS', stroke: '#4e9de0', width: 2 },
    { label: 'engine RSS', stroke: '#e05a5a', width: 2 },
    { label: 'GPU memory', stroke: '#50b070', width: 2 },
  ], { time: true });
  window.addEventListener('resize', function () {
    [['chart-stages', stagesChart], ['chart-capture', captureChart], ['chart-latency', latencyChart], ['chart-cpu', cpuChart], ['chart-mem', memChart]].forEach(function (p) { p[1].setSize(size($(p[0]))); });
  });

  function drawDictations() {
    var d = done();
    var x = d.map(function (_, i) { return i + 1; });
    stagesChart.setData([x].concat(stackOrder.map(function (s) {
      var upto = AFTER.slice(0, AFTER.indexOf(s) + 1);
      return d.map(function (r) { return upto.reduce(function (a, k) { return a + (r.times[k] || 0); }, 0); });
    })));
    captureChart.setData([x, d.map(function (r) { return ((r.times.trigger || 0) + (r.times.capture || 0)) / 1000; })]);
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
    var x = samples.map(function (s) { return s.at / 1000; });
    var gpu = function (s) { return s.gpu.gpus ? s.gpu.gpus[0] : null; };
    cpuChart.setData([x,
      samples.map(function (s) { return pct(s.daemon.cpu); }),
      samples.map(function (s) { return s.engine ? pct(s.engine.cpu) : null; }),
      samples.map(function (s) { var g = gpu(s); return g ? g.utilization : null; })]);
    memChart.setData([x,
      samples.map(function (s) { return mib(s.daemon.rssBytes); }),
      samples.map(function (s) { return s.engine ? mib(s.engine.rssBytes) : null; }),
      samples.map(function (s) { var g = gpu(s); return g ? g.memoryUsedMiB : null; })]);
    var last = samples[samples.length - 1];
    if (!last) return;
    var one = function (v) { return typeof v === 'number' ? v.toFixed(1) : '–'; };
    $('cpu-now').textContent = 'daemon ' + one(last.daemon.cpu) + ' %, engine ' + (last.engine ? one(last.engine.cpu) : '–') + ' %';
    $('mem-now').textContent = 'daemon ' + one(mib(last.daemon.rssBytes)) + ' MiB, engine ' + (last.engine ? one(mib(last.engine.rssBytes)) : '–') + ' MiB';
    $('gpu-now').textContent = last.gpu.gpus
      ? last.gpu.gpus.map(function (g) { return 'GPU ' + g.index + ': ' + g.utilization + ' %, ' + g.memoryUsedMiB + ' / ' + g.memoryTotalMiB + ' MiB'; }).join('; ')
      : last.gpu.none;
  }

  // ---- text --------------------------------------------------------------------------------------
  function drawTable() {
    var last = done()[done().length - 1];
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

  function drawList() {
    var list = $('dictations');
    list.textContent = '';
    items.slice().reverse().forEach(function (d) {
      var li = document.createElement('li');
      li.dataset.id = d.id;
      li.dataset.state = d.state;
      var cell = function (cls, text) { var s = document.createElement('span'); s.className = cls; s.textContent = text; li.appendChild(s); return s; };
      cell('when', when(d.at));
      cell('state', d.state);
      cell('total', d.times.total == null ? '' : ms(d.times.total) + ' ms');
      if (hidden) cell('text hidden', '(hidden)');
      else if (d.text != null) {
        cell('text', d.text);
        var copy = document.createElement('button');
        copy.type = 'button';
        copy.className = 'copy';
        copy.textContent = 'copy';
        copy.addEventListener('click', function () {
          navigator.clipboard.writeText(d.text).then(function () { copy.textContent = 'copied'; }, function (e) { copy.textContent = String(e); });
        });
        li.appendChild(copy);
      } else cell('text hidden', d.error || '(text not shown: dashboard.showText is off)');
      list.appendChild(li);
    });
  }

  function drawHost() {
    $('rec-state').textContent = host ? host.state : 'off (--no-host)';
    $('dictation-count').textContent = host && host.counts ? String(host.counts.dictations) : '0';
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
      $('about').textContent = ['model ' + a.model, a.backend, a.microphone ? 'microphone ' + a.microphone : null, a.hotkey ? 'hotkey ' + a.hotkey + (a.mode ? ', ' + a.mode : '') : null, a.output ? 'output ' + a.output : null]
        .filter(Boolean).join(' · ');
      drawHost(); drawService(d.service, events); drawDictations(); drawTable(); drawList(); drawSamples();
    });
    on(es, 'dictation', function (d) {
      items.push(d.item); if (items.length > KEEP) items.shift();
      host = d.host;
      drawHost(); drawDictations(); drawTable(); drawList();
    });
    on(es, 'state', function (d) { if (d.host) host = d.host; else if (host) host.state = d.state; if (host) drawHost(); });
    on(es, 'service', function (d) { events.push(d.event); drawService(d.service, events); });
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
