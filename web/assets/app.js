// resyncwatch console. Every text shown comes from phones' datagrams and is treated as
// hostile: the DOM is built with createElement and textContent only (never innerHTML),
// links are built from encodeURIComponent, and CSV cells that a spreadsheet would read
// as a formula are neutralised. Data comes only from this server's /api (JSON lines).
'use strict';

const REFRESH_MS = 10000;
const params = new URLSearchParams(location.search);

// ---- DOM helpers ------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children) append(node, c);
  return node;
}

function append(node, child) {
  if (child === undefined || child === null) return;
  node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function svg(tag, attrs, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function byId(id) { return document.getElementById(id); }

function phoneLink(mac) {
  if (!mac) return '';
  return el('a', {href: '/phone.html?q=' + encodeURIComponent(mac)}, mac);
}

// A table from header names and rows of cells (text, numbers or nodes). Numbers align
// right. Every cell carries its full text as a title: the wall screen cuts long cells short.
// `widths` (optional, one CSS width or null per column) sizes the columns of the wall
// screen's fixed-layout tables, so that a MAC address is never the cell that is cut.
function fillTable(table, headers, rows, badRow, widths) {
  const numeric = headers.map((_, i) => rows.length > 0 && typeof rows[0][i] === 'number');
  const head = el('tr', {}, ...headers.map((h, i) => {
    const th = el('th', numeric[i] ? {class: 'num'} : {}, h);
    if (widths && widths[i]) th.style.width = widths[i];
    return th;
  }));
  const body = rows.map((cells, i) => {
    const tr = el('tr', badRow && badRow(i) ? {class: 'bad'} : {});
    for (const c of cells) {
      const td = el('td', typeof c === 'number' ? {class: 'num'} : {}, c);
      if (td.textContent) td.title = td.textContent;
      tr.appendChild(td);
    }
    return tr;
  });
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  if (rows.length === 0) table.tBodies[0].appendChild(el('tr', {}, el('td', {class: 'muted'}, 'none')));
}

function showError(e) {
  const p = byId('error');
  if (!p) return;
  p.hidden = !e;
  p.textContent = e ? 'Error: ' + e.message : '';
}

// ---- data -------------------------------------------------------------------------

// GET a JSON-lines endpoint: {rows, nothing}. A 4xx/5xx throws its JSON error message.
async function api(path) {
  const res = await fetch(path, {credentials: 'same-origin', cache: 'no-store'});
  const text = await res.text();
  if (!res.ok) {
    let message = res.status + ' ' + res.statusText;
    try { message = JSON.parse(text).error || message; } catch (_) { /* not JSON */ }
    const err = new Error(message);
    err.status = res.status;
    throw err;
  }
  const rows = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  return {rows, nothing: res.headers.get('X-Resyncwatch-Nothing') || ''};
}

async function first(path) { return (await api(path)).rows[0] || null; }

function pct(x) { return x === null || x === undefined ? '-' : (x * 100).toFixed(1) + '%'; }
function num(x) { return x === null || x === undefined ? 0 : x; }
function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString(undefined, {hour12: false});
}
// "sip88xx.12-0-1MPP-14" -> "12-0-1MPP-14 (sip88xx)": the release first, so that the
// part a wall screen's cell keeps is the part that differs between phones.
function releaseFirst(firmware) {
  const m = /^([a-z][\w-]*)\.([0-9].*)$/i.exec(firmware);
  return m ? `${m[2]} (${m[1]})` : firmware;
}
function hhmm(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit', hour12: false});
}
// "14:05" today, "Dec 6 14:05" on another day: short enough for a wall screen's cell.
function shortTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return String(iso || '');
  const day = d.toDateString() === new Date().toDateString() ? '' :
      d.toLocaleDateString(undefined, {month: 'short', day: 'numeric'}) + ' ';
  return day + hhmm(iso);
}
// How long until `iso`: "now", "in 25 min", "in 3 h", "in 2 d", or "past due".
function untilText(iso) {
  const s = (Date.parse(iso) - Date.now()) / 1000;
  if (isNaN(s)) return String(iso || '');
  if (s < 0) return 'past due';
  const min = Math.round(s / 60), h = Math.round(s / 3600);
  if (min < 1) return 'now';
  if (min < 60) return `in ${min} min`;
  if (h < 48) return `in ${h} h`;
  return `in ${Math.round(s / 86400)} d`;
}
// A MAC, the one column of the wall's phone lists that must never be cut: 12 characters.
const MAC_WIDTH = '9em';
function failureRate(r) {
  const done = num(r.successes) + num(r.failures);
  return done === 0 ? null : num(r.failures) / done;
}

// ---- fleet wall -------------------------------------------------------------------

function tile(label, value, now, before, worseWhenUp, bad, beforeName, percent) {
  let delta = 'no earlier data';
  if (before !== null && before !== undefined && typeof now === 'number') {
    const d = now - before;
    const dir = d > 0 ? '▲ ' : d < 0 ? '▼ ' : '= ';
    const worse = worseWhenUp === null ? false : (worseWhenUp ? d > 0 : d < 0);
    delta = dir + (percent ? pct(Math.abs(d)) : Math.abs(d)) + ' vs ' + beforeName +
            (worse ? ' (worse)' : '');
  }
  return el('div', {class: 'tile' + (bad ? ' bad' : '')},
            el('div', {class: 'label', title: label}, label),
            el('div', {class: 'value', title: value}, value),
            el('div', {class: 'delta', title: delta}, delta));
}

function tiles(period, cur, prev) {
  const c = cur || {devices: 0, attempts: 0, failures: 0, success_rate: null};
  const p = prev || null;
  const rate = c.success_rate;
  const before = period === '(1 h)' ? 'hour before' : 'day before';
  return [
    tile('Phones seen ' + period, c.devices, c.devices, p && p.devices, null, false, before),
    tile('Attempts ' + period, c.attempts, c.attempts, p && p.attempts, null, false, before),
    tile('Success rate ' + period, (rate !== null && rate < 0.95 ? '⚠ ' : '') + pct(rate), rate,
         p && p.success_rate, false, rate !== null && rate < 0.95, before, true),
    tile('Failures ' + period, c.failures, c.failures, p && p.failures, true,
         c.failures > 0 && (!p || c.failures > p.failures), before),
  ];
}

// Bars per bucket: total (grey) with failures (red) over it; a <title> per bar.
function barChart(points) {
  const w = 1200, h = 150, pad = 18;
  const max = Math.max(1, ...points.map((p) => p.total));
  const bw = (w - 2 * pad) / Math.max(1, points.length);
  const chart = svg('svg', {class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img'});
  points.forEach((p, i) => {
    const x = pad + i * bw;
    const th = (h - 2 * pad) * p.total / max, fh = (h - 2 * pad) * p.failures / max;
    const g = svg('g', {});
    g.appendChild(svg('title', {}, `${p.label}: ${p.total} ${p.totalName}, ${p.failures} failures`));
    g.appendChild(svg('rect', {class: 'ok', x: x + 1, y: h - pad - th, width: bw - 2, height: th}));
    g.appendChild(svg('rect', {class: 'fail', x: x + 1, y: h - pad - fh, width: bw - 2, height: fh}));
    chart.appendChild(g);
    if (i % Math.ceil(points.length / 8) === 0) {
      chart.appendChild(svg('text', {x: x, y: h - 4}, p.label));
    }
  });
  chart.appendChild(svg('text', {x: 0, y: 14}, 'max ' + max));  // its top inside the box
  return chart;
}

// Every slot of the range, empty ones included: from `width`-aligned start to now.
function slots(rows, startKey, width, span) {
  const byStart = new Map(rows.map((r) => [Math.floor(Date.parse(r[startKey]) / 1000), r]));
  const now = Math.floor(Date.now() / 1000);
  const out = [];
  for (let t = Math.floor((now - span) / width) * width + width; t <= now; t += width) {
    out.push({start: new Date(t * 1000).toISOString(), row: byStart.get(t) || null});
  }
  return out;
}

function renderCharts(hour, dayRows) {
  const width = (hour && hour.bucket_seconds) || 300;
  const buckets = slots((hour && hour.buckets) || [], 'start', width, 3600);
  byId('chart-hour').replaceChildren(
      barChart(buckets.map(({start, row}) => ({
        label: hhmm(start), total: row ? row.successes + row.failures : 0,
        totalName: 'outcomes', failures: row ? row.failures : 0}))),
      el('div', {class: 'legend'}, 'grey: outcomes (successes + failures), red: failures'));
  const hours = slots(dayRows, 'hour', 3600, 86400);
  byId('chart-day').replaceChildren(
      barChart(hours.map(({start, row}) => ({
        label: hhmm(start), total: row ? row.attempts : 0, totalName: 'attempts',
        failures: row ? row.failures : 0}))),
      el('div', {class: 'legend'}, 'grey: attempts, red: failures'));
}

// On the wall screen only what fits a narrow panel: the name, failures and failure rate.
function renderGroups(id, key, rows) {
  const sorted = rows.slice().sort((a, b) => num(b.failures) - num(a.failures)).slice(0, 10);
  const full = params.get('kiosk') !== '1';
  const rate = (r) => (failureRate(r) >= 0.5 ? '⚠ ' : '') + pct(failureRate(r));
  fillTable(byId(id),
            full ? [key, 'phones', 'attempts', 'failures', 'failure rate'] : [key, 'failures', 'failed'],
            sorted.map((r) => full ? [r[key], r.devices, r.attempts, r.failures, rate(r)]
                                   : [r[key], r.failures, rate(r)]),
            (i) => failureRate(sorted[i]) >= 0.5);
}

const BAD_STATES = ['overdue', 'deep_backoff', 'hammering', 'gave_up'];
// What a phone's schedule state says of it (docs/schedule.md has the rules).
const STATE_MEANING = {
  ok: 'no schedule problem', overdue: 'its next attempt is past due',
  deep_backoff: 'failed, and its next retry is an hour or more away',
  hammering: 'tries faster than configured',
  gave_up: 'failed, and retries are off: it will not try again by itself',
  unknown: 'no attempt to judge',
};
const STATE_WORDS = {overdue: 'overdue', deep_backoff: 'deep back-off', hammering: 'hammering',
                     gave_up: 'gave up'};

// From /api/wall/schedule: phones per state and the worst phones of each (the wall screen
// has room for one, in full).
function renderSchedule(summary) {
  const states = (summary && summary.states) || {};
  const worstOf = (summary && summary.worst) || {};
  const shown = params.get('kiosk') === '1' ? 1 : 3;
  const rows = BAD_STATES.map((state) => {
    const n = num(states[state]);
    const worst = el('span', {});
    (worstOf[state] || []).slice(0, shown).forEach((d, i) => {
      if (i) worst.appendChild(document.createTextNode(', '));
      worst.appendChild(phoneLink(d.mac));
    });
    return [el('a', {href: '/lists.html?list=' + state}, (n > 0 ? '⚠ ' : '') + STATE_WORDS[state]),
            n, worst];
  });
  fillTable(byId('schedule'), ['state', 'phones', shown === 1 ? 'worst' : 'worst phones'], rows,
            (i) => rows[i][1] > 0, [null, null, shown === 1 ? MAC_WIDTH : null]);
}

// From /api/wall/recovery: the failing phones that come back last, then the summary line
// of `resyncwatch recovery --json` (how many retry by themselves within each horizon).
function renderRecovery(lines) {
  const summary = lines.find((r) => r.type === 'summary') ||
                  {phones: 0, within_10m: 0, within_1h: 0, within_6h: 0, within_24h: 0, never: 0};
  const phones = lines.filter((r) => r.type === 'phone');
  const horizons = [['within 10 min', summary.within_10m], ['within 1 h', summary.within_1h],
                    ['within 6 h', summary.within_6h], ['within 24 h', summary.within_24h]];
  const rows = [['failing now', summary.phones], ...horizons,
                [summary.never > 0 ? '⚠ never (retries off)' : 'never (retries off)', summary.never]];
  fillTable(byId('recovery'), ['retry by themselves', 'phones'], rows,
            (i) => i === rows.length - 1 && summary.never > 0);
  fillTable(byId('recovery-worst'), ['phone', 'server', 'retries'],
            phones.map((r) => [phoneLink(r.mac), r.server || '',
                               r.next_due ? untilText(r.next_due) : '⚠ never']),
            (i) => !phones[i].next_due, [MAC_WIDTH, null, '5.5em']);
  byId('recovery-all').textContent = `all ${summary.phones} failing phones, with the URL that forces a resync (CSV)`;
}

// Phones per model and firmware (all time: the firmware a phone runs may be old), counted
// by the daemon (/api/wall/firmware, the counts of `resyncwatch firmware --json`). Asks
// exactly that, no parameter: the daemon precomputes it once a minute (its scan reads every
// upgrade message) and answers it from memory while the result is at most a minute old, as
// of the time in X-Resyncwatch-As-Of (/api/collector: "firmware_ready"). Firmware changes
// rarely: fetched every 5 minutes only.
let firmwareCache = {at: 0, rows: null};
async function renderFirmware() {
  try {
    if (!firmwareCache.rows || Date.now() - firmwareCache.at > 5 * 60 * 1000) {
      firmwareCache = {at: Date.now(), rows: (await api('/api/wall/firmware')).rows};
    }
    const known = firmwareCache.rows.filter((r) => r.firmware);
    const unknown = firmwareCache.rows.reduce((n, r) => n + (r.firmware ? 0 : num(r.phones)), 0);
    byId('firmware-panel').hidden = false;
    if (params.get('kiosk') === '1') {
      // The wall screen: phones per version over all models (a version names its family).
      const perVersion = new Map();
      for (const r of known) perVersion.set(r.firmware, num(perVersion.get(r.firmware)) + num(r.phones));
      const rows = [...perVersion].sort((a, b) => b[1] - a[1])
                       .map(([firmware, phones]) => [releaseFirst(firmware), phones]);
      if (unknown > 0) rows.push(['never seen upgrading', unknown]);
      fillTable(byId('firmware'), ['firmware', 'phones'], rows);
      return;
    }
    const rows = known.map((r) => [r.model || '', r.firmware, r.phones]).slice(0, 8);
    if (unknown > 0) rows.push(['(all models)', 'never seen upgrading', unknown]);
    fillTable(byId('firmware'), ['model', 'firmware', 'phones'], rows);
  } catch (e) {
    if (e.status !== 404) throw e;  // not in this build: no panel
  }
}

// The schedule and recovery panels from the daemon's per-minute precompute: /api/collector
// names the minute that is ready ("schedule_ready"), and asking for exactly that now= is
// answered from memory. The wall asks for the compact forms (/api/wall/...: counts and the
// worst phones), not the full lists, which are tens of megabytes on a large fleet. Until
// the first run has finished: analysed afresh.
async function precomputedPanels() {
  const collector = await first('/api/collector');
  const ready = collector && collector.schedule_ready;
  const at = ready ? `?now=${encodeURIComponent(ready)}` : '';
  const [schedule, recovery] = await Promise.all([
    api('/api/wall/schedule' + at), api('/api/wall/recovery' + at)]);
  return {schedule: schedule.rows[0] || null, recovery: recovery.rows, ready};
}

function asOfTitle(id, text, ready) {
  const h = byId(id);
  h.replaceChildren(text);
  if (ready) h.append(' (as of ', el('time', {datetime: ready}, hhmm(ready)), ')');
}

async function wall() {
  const kiosk = params.get('kiosk') === '1';
  if (kiosk) document.body.classList.add('kiosk');
  // Ranges on whole minutes (the end stays open: the newest events count), which the
  // daemon answers from its per-minute rollups instead of scanning the day.
  const minute = new Date(Math.floor(Date.now() / 60000) * 60000).toISOString();
  const at = `&now=${encodeURIComponent(minute)}`;
  const [h1, h0, d1, d0, byHour, servers, models, alerts, precomputed] = await Promise.all([
    first(`/api/fleet?since=1h${at}`), first(`/api/fleet?since=2h&until=1h${at}`),
    first(`/api/fleet?since=24h&top=10${at}`), first(`/api/fleet?since=48h&until=24h${at}`),
    api(`/api/fleet?since=24h&by=hour${at}`), api(`/api/fleet?since=24h&by=server${at}`),
    api(`/api/fleet?since=24h&by=model${at}`), api('/api/alerts?active=1'),
    precomputedPanels(),
  ]);
  byId('tiles').replaceChildren(...tiles('(1 h)', h1, h0), ...tiles('(24 h)', d1, d0));
  renderCharts(h1, byHour.rows);
  const errors = (d1 && d1.top_errors) || [];
  fillTable(byId('errors'), ['error', 'failures'], errors.map((e) => [e.error, e.failures]));
  renderGroups('servers', 'server', servers.rows);
  renderGroups('models', 'model', models.rows);
  if (kiosk) {
    fillTable(byId('alerts'), ['alert', 'count', 'since'], alerts.rows.map(alertKioskCells),
              () => true, [null, '4em', '4em']);
  } else {
    fillTable(byId('alerts'), ['alert', 'detail', 'since'], alerts.rows.map(alertCells),
              () => true);
  }
  asOfTitle('schedule-title', 'Schedules', precomputed.ready);
  renderSchedule(precomputed.schedule);
  asOfTitle('recovery-title', 'Recovery forecast', precomputed.ready);
  renderRecovery(precomputed.recovery);
  await renderFirmware();
  if (kiosk) fitKiosk();
}

// A firing alert as the wall shows it: the rule and what it is about, the rest of its
// summary ("FIRING <rule>: <who>: <detail>"), and when it started.
function alertCells(a) {
  const by = (a.group && a.group.by) || 'fleet';
  const who = by === 'fleet' ? 'the fleet' : `${by} ${a.group.value}`;
  const prefix = `FIRING ${a.rule}: ${who}: `;
  const detail = String(a.summary || '').startsWith(prefix) ? a.summary.slice(prefix.length)
                                                             : String(a.summary || '');
  const rule = String(a.rule || '').replace(/_/g, ' ');
  return ['⚠ ' + rule + (by === 'fleet' ? '' : ': ' + a.group.value), detail,
          shortTime(a.started)];
}

// The wall screen has room for the alert and one number: the phones a schedule or silence
// rule counts, else the failures; the whole summary is the alert's title.
function alertKioskCells(a) {
  const [, , since] = alertCells(a);
  const by = (a.group && a.group.by) || 'fleet';
  const rule = String(a.rule || '').replace(/^schedule_/, '').replace(/_/g, ' ');
  const what = '⚠ ' + rule + (by === 'fleet' ? '' : ': ' + a.group.value);
  const count = a.phones !== undefined ? a.phones : a.failures;
  return [el('span', {title: a.summary}, what), num(count), since];
}

// ?kiosk=1 shows one screen with no scrolling: each panel keeps the rows that fit in it and
// says how many it left out. Fitted again, from all the rows, when the screen's size changes.
const allRows = new WeakMap();

function fitKiosk() {
  for (const panel of document.querySelectorAll('main.wall .panel')) {
    if (panel.hidden) continue;
    const tables = [...panel.querySelectorAll('table')];
    for (const table of tables.reverse()) fitTable(panel, table);
  }
}

function fitTable(panel, table) {
  const body = table.tBodies[0];
  if (!body) return;
  if (!allRows.has(body)) allRows.set(body, [...body.rows].filter((r) => !r.classList.contains('more')));
  const rows = allRows.get(body);
  body.replaceChildren(...rows);
  const columns = table.tHead ? table.tHead.rows[0].cells.length : 1;
  const more = el('tr', {class: 'more'}, el('td', {colspan: columns}, ''));
  let shown = rows.length;
  while (panel.scrollHeight > panel.clientHeight + 1 && shown > 0) {
    rows[--shown].remove();
    more.firstChild.textContent = `+ ${rows.length - shown} more`;
    if (!more.parentNode) body.appendChild(more);
  }
  if (shown === 0 && more.parentNode && panel.scrollHeight > panel.clientHeight + 1) more.remove();
}

window.addEventListener('resize', () => {
  if (document.body.classList.contains('kiosk')) fitKiosk();
});

// ---- phone page -------------------------------------------------------------------

function cell(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : v;
}

async function phone() {
  const q = params.get('q') || '';
  byId('q').value = q;
  const range = byId('range');
  if (params.get('since')) range.value = params.get('since');
  range.onchange = () => {
    const p = new URLSearchParams(location.search);
    p.set('since', range.value);
    location.search = p.toString();
  };
  if (!q) {
    byId('summary').replaceChildren(el('dd', {}, 'Type a MAC (any spelling) or a serial number.'));
    return;
  }
  const since = encodeURIComponent(range.value);
  const dev = encodeURIComponent(q);
  const [history, sched, devices] = await Promise.all([
    api(`/api/devices/${dev}/history?since=${since}`), api(`/api/schedule/${dev}?since=${since}`),
    api(`/api/devices/${dev}`),
  ]);
  const events = history.rows;
  const device = sched.rows.find((r) => r.type === 'device') || {};
  const mac = device.mac || (events[0] && events[0].mac) || '';
  const summary = devices.rows[0] || {};
  renderSummary(q, mac, summary, device, events, history.nothing);
  renderGaps(sched.rows.filter((r) => r.type === 'gap'), device);
  renderHistory(events);
}


function renderSummary(q, mac, s, device, events, nothing) {
  const last = events[events.length - 1] || {};
  const upgrade = events.filter((e) => e.kind === 'upgrade_success').pop();
  const items = [
    ['Asked for', q], ['MAC', mac], ['Serial', s.sn || last.sn || ''],
    ['Model', s.model || last.model || ''], ['Last address', s.last_ip || last.source || ''],
    ['Firmware', upgrade ? (upgrade.error || upgrade.path || upgrade.url) + ' (upgraded ' +
                               time(upgrade.time || upgrade.received_at) + ')' : 'no upgrade seen'],
    ['Last seen', time(s.last_seen)], ['Last URL', s.last_url || ''],
    ['Last error', s.last_error || ''],
    // Two different counts: the step the schedule analysis reached in the retry list (a
    // cycle of several profiles is one attempt; it is counted within the page's range), and
    // the failure messages since the phone's last success, all time.
    ['Back-off step', device.backoff_step === undefined ? '' : String(device.backoff_step)],
    ['Failure messages in a row', num(s.consecutive_failures)],
    ['Schedule state', device.state ? `${device.state}: ${STATE_MEANING[device.state] || ''}` : ''],
  ];
  if (nothing) items.push(['History', nothing]);
  const dl = byId('summary');
  dl.replaceChildren();
  for (const [k, v] of items) {
    const bad = (k === 'Schedule state' && BAD_STATES.includes(device.state)) ||
                (k === 'Failure messages in a row' && v > 0);
    dl.append(el('dt', {}, k), el('dd', bad ? {class: 'bad'} : {}, (bad ? '⚠ ' : '') + v));
  }
}

// Newest first, as the history: support asks what the phone does now.
function renderGaps(allGaps, device) {
  const okVerdicts = ['on_time', 'deferred'];
  const gaps = allGaps.slice().reverse();
  fillTable(byId('gaps'), ['from', 'to', 'rule', 'window (s)', 'observed (s)', 'outcome', 'verdict'],
            gaps.map((g) => [time(g.from), time(g.to),
                             g.rule + (g.retry_step ? ' ' + g.retry_step : ''),
                             `${g.expected_min_s}..${g.expected_max_s} ± ${g.tolerance_s}`,
                             Math.round(g.observed_s), g.outcome,
                             (okVerdicts.includes(g.verdict) ? '' : '⚠ ') + g.verdict]),
            (i) => !okVerdicts.includes(gaps[i].verdict));
  byId('next').textContent = device.next_rule
      ? `Next: ${device.next_rule}, from ${time(device.next_earliest)}, due by ${time(device.next_due)}` +
        ` (back-off step ${device.backoff_step}, state ${device.state})`
      : '';
}

function renderHistory(events) {
  const rows = events.slice().reverse();
  fillTable(byId('history'),
            ['time', 'kind', 'model', 'URL', 'outcome', 'ms', 'source', 'error'],
            rows.map((e) => [time(e.time || e.received_at), e.kind, e.model || '', e.url || '',
                             e.outcome || '', e.duration_ms === null || e.duration_ms === undefined ? '' : e.duration_ms,
                             e.source || '', e.error || '']),
            (i) => /failure/.test(rows[i].kind) || rows[i].outcome === 'failure');
}

// ---- lists ------------------------------------------------------------------------

// The schedule states' lists are the fleet schedule's devices in that state, so that each
// holds exactly the phones the wall counts in it.
const LISTS = {
  overdue: '/api/schedule/fleet?state=overdue',
  deep_backoff: '/api/schedule/fleet?state=deep_backoff',
  hammering: '/api/schedule/fleet?state=hammering',
  gave_up: '/api/schedule/fleet?state=gave_up',
  alerts: '/api/alerts?since=7d',
  devices: '/api/devices',
  grep: '/api/grep?since=24h&limit=1000&q=',
  recovery: '/api/recovery',
};
// The column a list is first sorted by, largest first: the phones that need a look first.
const LIST_ORDER = {overdue: 'overdue_s', deep_backoff: 'backoff_step', gave_up: 'backoff_step'};

// A spreadsheet runs cells starting with = + - @ (or tab/CR) as formulas: prefix a quote.
function csvCell(v) {
  let s = String(cell(v));
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function toCsv(keys, rows) {
  return [keys.map(csvCell).join(','), ...rows.map((r) => keys.map((k) => csvCell(r[k])).join(','))]
      .join('\r\n') + '\r\n';
}

async function lists() {
  const name = LISTS[params.get('list')] ? params.get('list') : 'overdue';
  document.title = 'resyncwatch: ' + name;
  let path = LISTS[name];
  if (name === 'grep') {
    byId('grep-form').hidden = false;
    byId('grep-q').value = params.get('q') || '';
    if (!params.get('q')) return;
    path += encodeURIComponent(params.get('q'));
  }
  // The schedule states' lists as of the minute the daemon analysed last (at most a
  // minute old), which it serves from memory instead of analysing the fleet again.
  let asOf = '';
  if (path.startsWith('/api/schedule/fleet?state=') || path === '/api/recovery') {
    const collector = await first('/api/collector');
    if (collector && collector.schedule_ready) {
      asOf = collector.schedule_ready;
      path += (path.includes('?') ? '&' : '?') + 'now=' + encodeURIComponent(asOf);
    }
  }
  const answer = await api(path);
  // recovery ends with its summary line: said under the table, not a row of it.
  const summary = answer.rows.find((r) => r.type === 'summary');
  const rows = answer.rows.filter((r) => r.type !== 'summary');
  const nothing = [answer.nothing || (summary ? recoverySummaryText(summary) : ''),
                   asOf ? 'as of ' + hhmm(asOf) : ''].filter((t) => t).join('; ');
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const state = {rows, keys, sortKey: LIST_ORDER[name] || null, desc: !!LIST_ORDER[name], filter: '',
                 nothing};
  byId('filter').oninput = (e) => { state.filter = e.target.value.toLowerCase(); drawList(state); };
  byId('csv').onclick = () => {
    const blob = new Blob([toCsv(keys, visible(state))], {type: 'text/csv'});
    const a = el('a', {href: URL.createObjectURL(blob), download: `resyncwatch-${name}.csv`});
    document.body.appendChild(a);
    a.click();
    a.remove();
  };
  drawList(state);
}

function recoverySummaryText(s) {
  return `${s.phones} phones failing; retried by themselves within 10 min: ${s.within_10m}, ` +
         `1 h: ${s.within_1h}, 6 h: ${s.within_6h}, 24 h: ${s.within_24h}; never: ${s.never}`;
}

function visible(state) {
  let rows = state.rows.filter(
      (r) => !state.filter || state.keys.some((k) => String(cell(r[k])).toLowerCase().includes(state.filter)));
  if (state.sortKey) {
    const k = state.sortKey;
    rows = rows.slice().sort((a, b) => {
      const x = a[k], y = b[k];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(cell(x)).localeCompare(String(cell(y)));
      return state.desc ? -c : c;
    });
  }
  return rows;
}

// A list shows at most this many rows: a browser given the 100,000 rows of a large fleet's
// devices (a million cells) stops answering. Filtering and sorting work on every row, and
// the CSV holds every row that passes the filter.
const LIST_ROWS_SHOWN = 2000;

function drawList(state) {
  const rows = visible(state);
  const shown = rows.slice(0, LIST_ROWS_SHOWN);
  const table = byId('list');
  const head = el('tr', {}, ...state.keys.map((k) => {
    const th = el('th', {}, k + (state.sortKey === k ? (state.desc ? ' ▼' : ' ▲') : ''));
    th.onclick = () => {
      state.desc = state.sortKey === k ? !state.desc : false;
      state.sortKey = k;
      drawList(state);
    };
    return th;
  }));
  const body = shown.map((r) => el('tr', {}, ...state.keys.map((k) => {
    const v = r[k];
    if (k === 'mac') return el('td', {}, phoneLink(v));
    return el('td', typeof v === 'number' ? {class: 'num'} : {}, cell(v));
  })));
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  const cut = shown.length < rows.length ?
      `; the first ${shown.length} shown: filter or sort to see others, the CSV has all` : '';
  byId('count').textContent = `${rows.length} of ${state.rows.length} rows` + cut +
                              (state.nothing ? ` (${state.nothing})` : '');
}

// ---- collector health -------------------------------------------------------------

let lastSample = null;

function parseMetrics(text) {
  const m = {};
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match) m[match[1] + (match[2] || '')] = Number(match[3]);
  }
  return m;
}

async function health() {
  const [metricsText, stats, store] = await Promise.all([
    fetch('/metrics', {credentials: 'same-origin', cache: 'no-store'}).then((r) => r.text()),
    first('/api/stats'), first('/api/collector'),
  ]);
  const m = parseMetrics(metricsText);
  const now = Date.now(), received = num(m.resyncwatch_received_datagrams_total);
  const rate = lastSample ? (received - lastSample.received) / ((now - lastSample.at) / 1000) : null;
  lastSample = {at: now, received};
  const latency = m.resyncwatch_store_write_seconds_count
      ? m.resyncwatch_store_write_seconds_sum / m.resyncwatch_store_write_seconds_count : null;
  const t = (label, value, bad) => el('div', {class: 'tile' + (bad ? ' bad' : '')},
                                       el('div', {class: 'label'}, label),
                                       el('div', {class: 'value'}, (bad ? '⚠ ' : '') + value));
  const drops = num(m.resyncwatch_kernel_drops_total) + num(m.resyncwatch_queue_drops_total);
  byId('tiles').replaceChildren(
      t('Ingest (datagrams/s)', rate === null ? 'measuring' : rate.toFixed(1)),
      t('Received since start', received),
      t('Drops since start', drops, drops > 0),
      t('Store errors since start', num(m.resyncwatch_store_errors_total),
        num(m.resyncwatch_store_errors_total) > 0),
      t('Queue depth', num(m.resyncwatch_queue_depth)),
      t('Mean store write', latency === null ? '-' : (latency * 1000).toFixed(2) + ' ms'));
  fillTable(byId('counters'), ['counter', 'value'],
            Object.entries(stats || {}).map(([k, v]) => [k, v]));
  fillTable(byId('store'), ['', ''], Object.entries(store || {}).map(([k, v]) => [k, cell(v)]));
}

// ---- start ------------------------------------------------------------------------

const PAGES = {wall, phone, lists, health};
const REFRESHING = {wall: true, health: true};

async function run() {
  const page = document.body.dataset.page;
  try {
    await PAGES[page]();
    showError(null);
    const stamp = byId('updated');
    if (stamp) stamp.textContent = 'updated ' + new Date().toLocaleTimeString(undefined, {hour12: false});
  } catch (e) {
    showError(e);
  }
  document.body.dataset.ready = '1';
  if (REFRESHING[page]) setTimeout(run, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', run);
