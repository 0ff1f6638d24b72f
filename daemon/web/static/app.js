/* The machpager web view: one EventSource, a snapshot about 4 times a second, drawn on canvases. No build step, no libraries. */
/* global document, window, EventSource, fetch, URLSearchParams, getComputedStyle */
'use strict';

const STATES = ['free', 'active', 'inactive', 'dirty', 'busy', 'wired'];
const LETTERS = 'faidbw';
const HISTORY = 240; // samples kept: 60 s at 4 a second
const key = new URLSearchParams(window.location.search).get('key') || '';
const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(`--${name}`).trim();
const STATE_COLORS = STATES.map(color);
const $ = (id) => document.getElementById(id);

let last = null;
let frameOwners = new Int32Array(0);
let frameFiles = [];
let frameStates = '';
let grid = { cell: 1, cols: 1 };
const history = [];

function fmt(n) {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function bytes(n) {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n}${units[i]}`;
}

function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!m) return NaN;
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2].toUpperCase()];
  return Math.round(Number(m[1]) * scale);
}

function us(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} s` : n >= 1000 ? `${(n / 1000).toFixed(1)} ms` : `${Math.round(n)} µs`;
}

// ---------------------------------------------------------------- frames

function drawFrames(frames) {
  const canvas = $('frames');
  const n = frames.states.length;
  frameStates = frames.states;
  frameFiles = frames.files;
  frameOwners = new Int32Array(n);
  for (let i = 0, at = 0; i < frames.owners.length; i += 2) {
    frameOwners.fill(frames.owners[i], at, at + frames.owners[i + 1]);
    at += frames.owners[i + 1];
  }
  const width = canvas.parentElement.clientWidth || 640;
  const cell = Math.max(1, Math.min(16, Math.floor(Math.sqrt((width * 360) / Math.max(1, n)))));
  const cols = Math.max(1, Math.floor(width / cell));
  const rows = Math.ceil(n / cols);
  if (canvas.width !== cols * cell || canvas.height !== rows * cell) {
    canvas.width = cols * cell;
    canvas.height = rows * cell;
  }
  grid = { cell, cols };
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = color('bg');
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const gap = cell >= 4 ? 1 : 0;
  const counts = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const s = LETTERS.indexOf(frames.states[i]);
    counts[s]++;
    ctx.fillStyle = STATE_COLORS[s];
    ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - gap, cell - gap);
  }
  // For tests and scripts: the grid's geometry and states, readable from the DOM.
  canvas.dataset.frames = String(n);
  canvas.dataset.cell = String(cell);
  canvas.dataset.cols = String(cols);
  canvas.dataset.states = frames.states;
  canvas.dataset.counts = JSON.stringify(Object.fromEntries(STATES.map((s, i) => [s, counts[i]])));
  $('legend').replaceChildren(...STATES.map((s, i) => {
    const span = document.createElement('span');
    span.className = `key ${s}`;
    span.id = `count-${s}`;
    span.textContent = `${s} ${counts[i]}`;
    return span;
  }));
  $('frame-summary').textContent = `${n} frames of ${bytes(frames.page_size)}`;
}

function frameTip(event) {
  const canvas = $('frames');
  const tip = $('tip');
  const rect = canvas.getBoundingClientRect();
  const x = (event.clientX - rect.left) * (canvas.width / rect.width);
  const y = (event.clientY - rect.top) * (canvas.height / rect.height);
  const col = Math.floor(x / grid.cell);
  const i = Math.floor(y / grid.cell) * grid.cols + col;
  if (col >= grid.cols || i < 0 || i >= frameStates.length) {
    tip.hidden = true;
    return;
  }
  const owner = frameOwners[i];
  const file = owner >= 0 ? frameFiles[owner] : null;
  tip.textContent = `frame ${i}: ${STATES[LETTERS.indexOf(frameStates[i])]}${file ? ` — ${file.path || `(ino ${file.ino}, unlinked)`}` : ''}`;
  tip.hidden = false;
  tip.style.left = `${event.clientX - rect.left + 12}px`;
  tip.style.top = `${event.clientY - rect.top + 12}px`;
}

// ---------------------------------------------------------------- over time

function drawTimeline() {
  const canvas = $('timeline');
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = color('line');
  ctx.beginPath();
  for (let q = 0; q <= 4; q++) {
    ctx.moveTo(0, Math.round((h - 1) * (q / 4)) + 0.5);
    ctx.lineTo(w, Math.round((h - 1) * (q / 4)) + 0.5);
  }
  ctx.stroke();
  if (history.length < 2) return;
  const rates = ['faults', 'pageins', 'pageouts'];
  const max = Math.max(1, ...history.flatMap((p) => rates.map((r) => p[r])));
  const x = (i) => w - (history.length - 1 - i) * (w / (HISTORY - 1));
  const line = (name, value) => {
    ctx.strokeStyle = color(name);
    ctx.lineWidth = name === 'hit' ? 2 : 1.5;
    ctx.beginPath();
    let drawing = false;
    history.forEach((p, i) => {
      const v = value(p);
      if (v === null) {
        drawing = false;
        return;
      }
      const y = h - 1 - v * (h - 2);
      if (drawing) ctx.lineTo(x(i), y);
      else ctx.moveTo(x(i), y);
      drawing = true;
    });
    ctx.stroke();
  };
  for (const r of rates) line(r, (p) => p[r] / max);
  line('hit', (p) => p.hitRatio);
  ctx.fillStyle = color('dim');
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(`${fmt(max)}/s · hit ratio 100%`, 4, 12);
}

// ---------------------------------------------------------------- files, latency, MRC

function drawFiles(files) {
  const rows = files.map((f) => {
    const row = document.createElement('div');
    row.className = 'file';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = f.path || `(ino ${f.ino}, unlinked)`;
    name.title = name.textContent;
    const bar = document.createElement('span');
    bar.className = 'bar';
    const resident = document.createElement('span');
    resident.className = 'resident';
    resident.style.width = `${f.pages === 0 ? 0 : (100 * f.resident) / f.pages}%`;
    const dirty = document.createElement('span');
    dirty.className = 'dirty';
    dirty.style.width = `${f.pages === 0 ? 0 : (100 * f.dirty) / f.pages}%`;
    bar.append(resident, dirty);
    const count = document.createElement('span');
    count.className = 'count';
    count.textContent = `${f.resident}/${f.pages}${f.dirty > 0 ? ` (${f.dirty} dirty)` : ''}`;
    row.append(name, bar, count);
    return row;
  });
  if (rows.length === 0) {
    const none = document.createElement('p');
    none.className = 'dim';
    none.textContent = 'no file has pages in the cache';
    rows.push(none);
  }
  $('files').replaceChildren(...rows);
}

function bars(canvas, labels, values, fill) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height - 16;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (values.length === 0) return;
  const max = Math.max(1, ...values);
  const bw = w / values.length;
  ctx.font = '10px system-ui, sans-serif';
  values.forEach((v, i) => {
    const bh = Math.round((v / max) * (h - 4));
    ctx.fillStyle = fill;
    ctx.fillRect(i * bw + 1, h - bh, Math.max(1, bw - 2), bh);
    if (values.length <= 24 || i % Math.ceil(values.length / 24) === 0) {
      ctx.fillStyle = color('dim');
      ctx.fillText(labels[i], i * bw + 1, canvas.height - 3);
    }
  });
}

function drawLatency(latency) {
  bars($('latency'), latency.le_us.map((v) => (v >= 1e6 ? `${v / 1e6}s` : v >= 1000 ? `${v / 1000}ms` : `${v}µs`)), latency.counts, color('faults'));
  const s = latency.summary;
  $('latency-summary').textContent = s.count === 0 ? '(no faults yet)' : `${fmt(s.count)} faults · p50 ${us(s.p50_us)} · p99 ${us(s.p99_us)} · max ${us(s.max_us)}`;
}

function drawMrc(snap) {
  const { mrc, trace, gauges } = snap;
  const live = snap.live_mrc;
  const canvas = $('mrc');
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height - 16;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  $('trace-status').textContent = trace.recording ? `recording ${trace.path} (${fmt(trace.requests)} requests)` : mrc.path ? `trace ${mrc.path}` : 'no trace: machpager trace start FILE, then stop';
  const parts = [];
  if (live && live.requests > 0) parts.push(`live: LRU, ${fmt(live.requests)} requests, ~${fmt(live.working_set_pages)} pages${live.rate < 1 ? ` (sampled at ${live.rate.toPrecision(2)}, ±${live.expected_error.toFixed(3)})` : ''}`);
  if (mrc.state === 'reading' || mrc.state === 'computing') parts.push(`trace (${mrc.state}, ${Math.round(mrc.progress * 100)}%)`);
  else if (mrc.state === 'failed') parts.push(`trace (failed: ${mrc.error})`);
  else if (mrc.state === 'done') parts.push(`trace: LRU, ${fmt(mrc.requests)} requests, ${fmt(mrc.distinct)} distinct pages`);
  $('mrc-summary').textContent = parts.join(' · ');
  const curves = [];
  if (live && live.requests > 0 && live.points.length > 0) curves.push({ points: live.points, color: color('active') });
  if (mrc.points.length > 0) curves.push({ points: mrc.points, color: color('pageins') });
  if (curves.length === 0) return;
  const maxPages = Math.max(gauges.frames, ...curves.map((c) => c.points[c.points.length - 1].pages));
  const x = (pages) => (Math.log(pages) / Math.log(Math.max(2, maxPages))) * (w - 2) + 1;
  ctx.strokeStyle = color('line');
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  ctx.lineWidth = 2;
  for (const curve of curves) {
    ctx.strokeStyle = curve.color;
    ctx.beginPath();
    curve.points.forEach((p, i) => {
      const y = h - 1 - p.miss_ratio * (h - 2);
      if (i === 0) ctx.moveTo(x(p.pages), y);
      else ctx.lineTo(x(p.pages), y);
    });
    ctx.stroke();
  }
  // Where this cache is on the curve.
  ctx.strokeStyle = color('inactive');
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x(gauges.frames), 0);
  ctx.lineTo(x(gauges.frames), h);
  ctx.stroke();
  ctx.setLineDash([]);
  drawMinis(live, ctx, x, h);
  ctx.fillStyle = color('dim');
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillText('1 page', 2, canvas.height - 3);
  ctx.fillText(`${fmt(maxPages)} pages`, w - 60, canvas.height - 3);
  ctx.fillText(`this cache: ${fmt(gauges.frames)}`, Math.min(w - 110, x(gauges.frames) + 4), 12);
}

/** Colours of the live policies' points (LRU is the live curve's own). */
const POLICY_COLORS = { lru: '#2a9d8f', mach: '#e76f51', clock: '#8e6cc4', arc: '#e9c46a', '2q': '#457b9d' };

/** The miniature simulations: each policy's hit ratio at 1/2x, 1x, 2x and 4x the cache, as dots joined, and a legend. */
function drawMinis(live, ctx, x, h) {
  const m = live && live.miniatures;
  if (!m || live.requests === 0) {
    $('mrc-policies').textContent = '';
    return;
  }
  ctx.lineWidth = 1;
  for (const curve of m.curves) {
    if (curve.policy === 'lru') continue;
    ctx.strokeStyle = ctx.fillStyle = POLICY_COLORS[curve.policy] || color('dim');
    ctx.beginPath();
    curve.points.forEach((p, i) => {
      const y = h - 1 - p.miss_ratio * (h - 2);
      if (i === 0) ctx.moveTo(x(p.pages), y);
      else ctx.lineTo(x(p.pages), y);
      ctx.fillRect(x(p.pages) - 2, y - 2, 4, 4);
    });
    ctx.stroke();
  }
  const at = (curve, pages) => {
    const p = curve.points.find((q) => q.pages === pages);
    return p ? `${(100 * p.hit_ratio).toFixed(1)}%` : '-';
  };
  const legend = m.curves.map((c) => {
    const span = document.createElement('span');
    span.style.color = POLICY_COLORS[c.policy] || '';
    span.textContent = `${c.policy} ${at(c, m.cache_pages)} (2x: ${at(c, 2 * m.cache_pages)})`;
    return span;
  });
  const head = document.createElement('span');
  head.className = 'dim';
  head.textContent = `hit ratio at this cache, by policy${m.rate < 1 ? ` (miniatures at ${m.rate.toPrecision(2)}, ±${m.expected_error.toFixed(3)})` : ''}: `;
  $('mrc-policies').replaceChildren(head, ...legend.flatMap((l, i) => (i === 0 ? [l] : [document.createTextNode(' · '), l])));
}

// ---------------------------------------------------------------- numbers

function update(snap) {
  $('mountpoint').textContent = snap.mount.mountpoint;
  $('where').textContent = `${snap.mount.store} · ${snap.mount.cache_mode} · pid ${snap.mount.pid}`;
  const c = snap.counters;
  if (last) {
    const dt = Math.max(0.001, (snap.t - last.t) / 1000);
    const lookups = c.lookups - last.counters.lookups;
    const point = {
      hitRatio: lookups > 0 ? (c.hits - last.counters.hits) / lookups : null,
      faults: (c.faults - last.counters.faults) / dt,
      pageins: (c.pageins - last.counters.pageins) / dt,
      pageouts: (c.pageouts - last.counters.pageouts) / dt,
    };
    history.push(point);
    if (history.length > HISTORY) history.shift();
    // Rates over the last second, steadier to read than one tick's.
    const recent = history.slice(-4);
    const mean = (k) => recent.reduce((s, p) => s + p[k], 0) / recent.length;
    $('faults-rate').textContent = fmt(mean('faults'));
    $('pageins-rate').textContent = fmt(mean('pageins'));
    $('pageouts-rate').textContent = fmt(mean('pageouts'));
  }
  $('hit-ratio').textContent = c.lookups > 0 ? `${((100 * c.hits) / c.lookups).toFixed(1)}%` : '–';
  $('faults-total').textContent = String(c.faults);
  $('pageins-total').textContent = String(c.pageins);
  $('pageouts-total').textContent = String(c.pageouts);
  $('hits-total').textContent = `${fmt(c.hits)} / ${fmt(c.lookups)}`;
  const select = $('policy');
  if (select.options.length !== snap.policies.length) {
    select.replaceChildren(...snap.policies.map((p) => new window.Option(p, p)));
  }
  if (document.activeElement !== select) select.value = snap.policy;
  const size = $('cache-size');
  if (document.activeElement !== size) size.value = bytes(snap.gauges.cache_size);
  drawFrames(snap.frames);
  drawTimeline();
  drawFiles(snap.files);
  drawLatency(snap.latency);
  drawMrc(snap);
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  last = snap;
}

// ---------------------------------------------------------------- control

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-machpager-key': key }, body: JSON.stringify(body) });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.error ? answer.error.message : res.statusText);
  return answer;
}

function say(text) {
  $('control-result').textContent = text;
}

function setControl(allowed) {
  for (const el of document.querySelectorAll('#policy-form *, #cache-form *, #mrc-compute')) el.disabled = !allowed;
  $('access').textContent = allowed ? 'control: this link carries the mount\'s key' : 'read-only (the link printed by machpager web can change the mount)';
}

$('policy-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('policy').value;
  post('/api/policy', { name }).then((r) => say(`policy: ${r.previous || '?'} → ${r.policy}`), (e) => say(e.message));
});

$('cache-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const size = parseSize($('cache-size').value);
  if (!Number.isFinite(size)) {
    say('cache size: a number with K, M or G');
    return;
  }
  post('/api/cache-size', { size }).then((r) => say(`cache size: ${bytes(r.previous)} → ${bytes(r.cache_size)}`), (e) => say(e.message));
});

$('mrc-compute').addEventListener('click', () => {
  post('/api/mrc', {}).then(() => say('computing the miss-ratio curve'), (e) => say(e.message));
});

$('frames').addEventListener('mousemove', frameTip);
$('frames').addEventListener('mouseleave', () => ($('tip').hidden = true));

function connect() {
  const events = new EventSource('/events');
  events.onopen = () => {
    $('status').textContent = 'live';
    $('status').className = 'status live';
  };
  events.onmessage = (event) => update(JSON.parse(event.data));
  events.onerror = () => {
    $('status').textContent = 'reconnecting…';
    $('status').className = 'status down';
  };
}

setControl(false);
fetch('/api/access', { headers: key ? { 'x-machpager-key': key } : {} })
  .then((r) => r.json())
  .then((a) => setControl(a.control === true), () => setControl(false));
connect();
