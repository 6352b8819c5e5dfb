/**
 * The page's HTML. Its own requests (styles, scripts, the event stream) carry the token in their
 * URLs; no inline script or style, so that the Content-Security-Policy can forbid them; nothing is
 * fetched from outside (it works offline).
 */
export function pageHtml(token: string): string {
  const q = `?token=${encodeURIComponent(token)}`;
  const tile = (id: string, label: string, value = '–'): string => `<div class="tile"><span>${label}</span><b id="${id}">${value}</b></div>`;
  const card = (id: string, title: string, extra = ''): string => `<div class="card"><h2>${title}</h2><div id="${id}" class="chart"></div>${extra}</div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>prism-dictate</title>
<link rel="stylesheet" href="uplot.css${q}">
<link rel="stylesheet" href="app.css${q}">
</head>
<body>
<header><h1>prism-dictate</h1><span id="conn" class="badge">connecting…</span><p id="about" class="about"></p></header>
<section class="setup">
<div class="tile wide"><span>microphone</span><b id="mic-name">–</b><div class="level"><meter id="mic-meter" min="0" max="1" value="0"></meter><span id="mic-db">no level yet</span></div></div>
<div class="tile wide"><span>hotkey</span><b id="hotkey-hint">–</b></div>
</section>
<section class="tiles">
${tile('service-state', 'service')}
${tile('service-backend', 'backend')}
${tile('rec-state', 'recording')}
${tile('dictation-count', 'dictations', '0')}
${tile('phrase-count', 'phrases', '0')}
${tile('restarts', 'restarts', '0')}
${tile('errors', 'errors', '0')}
${tile('fallbacks', 'fallbacks', '0')}
${tile('queue', 'queue (running/waiting)')}
</section>
<section class="grid">
${card('chart-stages', 'Speech ended → pasted, per dictation (ms)')}
${card('chart-capture', 'Speaking per dictation (s): from the trigger to the end of speech')}
${card('chart-latency', 'p50 / p95 over dictations (ms)')}
</section>
<section class="grid">
${card('chart-cpu', 'CPU (% of one core)', '<p id="cpu-now" class="now"></p><p id="gpu-now" class="now"></p>')}
${card('chart-mem', 'Memory (MiB)', '<p id="mem-now" class="now"></p>')}
</section>
<section class="card">
<h2>Stages (ms)</h2>
<table id="stage-table"><thead><tr><th>stage</th><th>last</th><th>p50</th><th>p95</th><th>phrases</th></tr></thead><tbody></tbody></table>
</section>
<section class="card">
<h2>Recent dictations <span class="muted">(newest first; each with its phrases, cut at pauses)</span></h2>
<div class="controls"><label><input type="checkbox" id="hide-text"> hide text</label><button id="repaste" type="button" title="into the window the dictation went to">Re-paste last</button><span id="repaste-result"></span></div>
<ol id="dictations"></ol>
</section>
<section class="card">
<h2>Service events</h2>
<ul id="events"></ul>
</section>
<script src="uplot.js${q}"></script>
<script src="app.js${q}"></script>
</body>
</html>
`;
}
