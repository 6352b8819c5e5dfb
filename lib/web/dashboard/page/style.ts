/** The page's stylesheet: light by default, dark when the desktop asks for it. */
export const PAGE_CSS = `
:root { --bg: #f6f7f9; --card: #fff; --fg: #1d2330; --muted: #6b7385; --line: #e3e6eb; --ok: #2f9e5b; --bad: #d24545; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171d; --card: #1d2129; --fg: #e6e9ef; --muted: #98a0b3; --line: #2c313b; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin-bottom: 12px; }
.about { margin: 0; flex-basis: 100%; color: var(--muted); font-size: 12px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
.badge { padding: 2px 8px; border-radius: 10px; background: var(--line); font-size: 12px; }
.badge.ok { background: var(--ok); color: #fff; }
.badge.bad { background: var(--bad); color: #fff; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 8px; margin-bottom: 12px; }
.tile, .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.tile span { display: block; color: var(--muted); font-size: 12px; }
.tile b { font-size: 18px; font-variant-numeric: tabular-nums; }
.setup { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
.setup .tile { flex: 1 1 360px; }
.setup .tile b { font-size: 14px; font-weight: 600; }
.level { display: flex; align-items: center; gap: 8px; margin-top: 4px; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.level meter { width: 200px; height: 10px; }
.muted { color: var(--muted); font-weight: 400; }
/* flex, not a grid of fixed columns: a chart alone on its row takes the whole row */
.grid { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.grid > .card { flex: 1 1 380px; min-width: 0; }
section.card { margin-bottom: 12px; }
.chart { min-height: 200px; }
.now { margin: 4px 0 0; color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 3px 8px; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { text-align: left; }
.controls { display: flex; gap: 12px; align-items: center; margin-bottom: 8px; }
#dictations { margin: 0; padding-left: 0; list-style: none; }
#dictations > li { padding: 6px 0; border-bottom: 1px solid var(--line); }
#dictations .head { display: flex; flex-wrap: wrap; gap: 12px; align-items: baseline; }
#dictations .when, #dictations .state, #dictations .total, #dictations .count, #dictations .window, #dictations .n, #dictations .seconds { color: var(--muted); font-variant-numeric: tabular-nums; }
#dictations .phrases { margin: 4px 0 0; padding-left: 24px; list-style: none; }
#dictations .phrase { display: grid; grid-template-columns: 24px 56px 1fr auto; gap: 8px; align-items: center; padding: 2px 0; }
#dictations .tools { display: flex; gap: 6px; align-items: center; }
#dictations audio { height: 28px; width: 220px; }
#dictations .retry, #dictations .retry-result { font-size: 11px; }
#dictations .retry-result { color: var(--muted); }
#dictations .text.hidden { color: var(--muted); font-style: italic; }
#dictations .copy { font-size: 11px; padding: 0 6px; }
#events { margin: 0; padding-left: 16px; color: var(--muted); font-size: 12px; }
`;
