// Vigil dashboard: no framework, no build step. Reads the public REST API and the `/alerts` socket.io namespace with
// the API key the user signs in with (kept in sessionStorage, so it dies with the tab). Every value from the server
// is rendered with textContent, never as HTML.
'use strict';

(function () {
  const KEY_STORAGE = 'vigil.apiKey';
  const state = {
    key: sessionStorage.getItem(KEY_STORAGE),
    incidents: new Map(), // id -> incident
    selected: null,
    socket: null,
    lastEventId: null,
    chart: null,
    topTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  const fmtTime = (ms) => new Date(ms).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const fmtNum = (n) => (n === null || n === undefined ? '—' : Math.abs(n) >= 1000 ? Math.round(n).toLocaleString() : String(Math.round(n * 100) / 100));

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    const res = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${state.key}`, ...(options.body ? { 'Content-Type': 'application/json' } : {}), ...(options.headers || {}) },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const msg = body && body.message ? (Array.isArray(body.message) ? body.message.join('; ') : body.message) : res.statusText;
      if (res.status === 401) signOut(`Signed out: ${msg}`);
      throw new ApiError(res.status, msg);
    }
    return body;
  }

  // ------------------------------------------------------------------ sign in / out

  async function signIn(key) {
    state.key = key;
    try {
      await api('/v1/incidents?limit=1');
    } catch (e) {
      state.key = null;
      throw e;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    start();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    if (state.socket) state.socket.close();
    state.socket = null;
    state.incidents.clear();
    state.selected = null;
    $('app').hidden = true;
    $('signout').hidden = true;
    $('whoami').textContent = '';
    $('signin').hidden = false;
    $('signin-error').textContent = message || '';
    setLive('off', 'offline');
  }

  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('key').value.trim();
    $('signin-error').textContent = '';
    signIn(key).catch((e) => {
      $('signin-error').textContent = e.status === 401 ? 'That key is not valid (unknown, revoked or expired).' : e.status === 403 ? `This key may not read incidents: ${e.message}` : `Could not sign in: ${e.message}`;
    });
  });
  $('signout').addEventListener('click', () => signOut());
  $('show-resolved').addEventListener('change', renderFeed);
  window.addEventListener('hashchange', () => openFromHash());

  // ------------------------------------------------------------------ feed

  async function start() {
    $('signin').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    $('whoami').textContent = `key ${state.key.slice(0, 12)}…`;
    const page = await api('/v1/incidents?limit=100&order=desc');
    for (const i of page.items) state.incidents.set(i.id, i);
    renderFeed();
    connectLive();
    refreshTop();
    openFromHash();
  }

  function setLive(s, text) {
    $('live').dataset.state = s;
    $('live').textContent = text;
  }

  function connectLive() {
    if (typeof io !== 'function') return setLive('off', 'live stream unavailable');
    const socket = io('/alerts', { auth: { token: state.key }, transports: ['websocket', 'polling'] });
    state.socket = socket;
    setLive('wait', 'connecting…');
    socket.on('connect', () => {
      const req = state.lastEventId ? { lastEventId: state.lastEventId } : {};
      socket.emit('subscribe', req, (ack) => {
        if (ack && ack.ok) setLive('on', 'live');
        else setLive('off', `subscribe failed: ${ack ? ack.error : 'no answer'}`);
      });
    });
    socket.on('connect_error', (err) => setLive('off', `offline: ${err.message}`));
    socket.on('disconnect', () => setLive('wait', 'reconnecting…'));
    for (const type of ['incident.opened', 'incident.updated', 'incident.resolved']) {
      socket.on(type, (e) => {
        state.lastEventId = e.eventId;
        onIncident(type, e.incident);
      });
    }
  }

  function onIncident(type, incident) {
    const known = state.incidents.get(incident.id);
    if (known && known.revision > incident.revision) return;
    state.incidents.set(incident.id, incident);
    renderFeed(type === 'incident.opened' ? incident.id : null);
    if (state.selected === incident.id) {
      renderDetailHead(incident);
      const explanation = document.querySelector('[data-testid=explanation]');
      if (explanation) explanation.textContent = incident.explanation;
    }
    clearTimeout(state.topTimer);
    state.topTimer = setTimeout(refreshTop, 1500);
  }

  function renderFeed(freshId) {
    const showResolved = $('show-resolved').checked;
    const list = [...state.incidents.values()]
      .filter((i) => showResolved || i.status !== 'resolved')
      .sort((a, b) => b.createdAt - a.createdAt || b.lastSeen - a.lastSeen || (a.id < b.id ? -1 : 1));
    const ol = $('incidents');
    ol.replaceChildren(
      ...list.map((i) =>
        el(
          'li',
          {
            class: [i.id === state.selected ? 'selected' : '', i.id === freshId ? 'fresh' : ''].join(' ').trim() || null,
            dataset: { id: i.id, severity: i.severity, status: i.status, testid: 'incident' },
            onclick: () => (location.hash = `#/incidents/${encodeURIComponent(i.id)}`),
          },
          el('div', { class: 'title', text: i.title }),
          el(
            'div',
            { class: 'meta' },
            el('span', { class: `sev ${i.severity}`, text: i.severity }),
            el('span', { class: `status ${i.status}`, text: i.status }),
            el('span', { text: `${i.anomalyCount} anomal${i.anomalyCount === 1 ? 'y' : 'ies'}` }),
            el('span', { text: fmtTime(i.lastSeen) }),
          ),
        ),
      ),
    );
    const total = state.incidents.size;
    const open = [...state.incidents.values()].filter((i) => i.status !== 'resolved').length;
    $('feed-count').textContent = total ? `${open} active · ${total} loaded` : '';
    $('feed-empty').hidden = list.length > 0;
  }

  // ------------------------------------------------------------------ detail

  function openFromHash() {
    const m = /^#\/incidents\/(.+)$/.exec(location.hash);
    if (m && state.key) openIncident(decodeURIComponent(m[1]));
  }

  async function openIncident(id) {
    state.selected = id;
    renderFeed();
    const panel = $('detail');
    panel.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    let detail;
    try {
      detail = await api(`/v1/incidents/${encodeURIComponent(id)}`);
    } catch (e) {
      panel.replaceChildren(el('p', { class: 'error', text: `Could not load the incident: ${e.message}` }));
      return;
    }
    if (state.selected !== id) return;
    state.incidents.set(id, detail.incident);
    renderDetail(detail);
    loadSeries(id);
  }

  function renderDetailHead(i) {
    const head = $('detail-head');
    if (!head) return;
    head.replaceChildren(
      el('h1', { text: i.title, 'data-testid': 'incident-title' }),
      el('span', { class: `sev ${i.severity}`, text: i.severity }),
      el('span', { class: `status ${i.status}`, text: i.status, 'data-testid': 'incident-status' }),
      el('span', { class: 'muted small', text: `${i.entityType} ${i.entity} · ${fmtTime(i.firstSeen)} → ${fmtTime(i.lastSeen)} · score ${fmtNum(i.maxScore)}` }),
    );
    const resolved = i.status === 'resolved';
    $('btn-ack').disabled = i.status !== 'open';
    $('btn-resolve').disabled = resolved;
    $('btn-fp').disabled = resolved;
  }

  function renderDetail({ incident: i, anomalies, sampleEvents }) {
    const reason = el('input', { type: 'text', id: 'reason', placeholder: 'reason (recorded in the history)', value: 'checked on the dashboard' });
    const act = (action, label) => async () => {
      const message = $('action-message');
      message.textContent = '';
      try {
        const updated = await api(`/v1/incidents/${encodeURIComponent(i.id)}/${action}`, { method: 'POST', body: JSON.stringify({ reason: reason.value.trim() || label }) });
        onIncident('incident.updated', updated);
        message.textContent = `${label}.`;
        openIncident(i.id);
      } catch (e) {
        message.textContent = `${label} failed: ${e.message}`;
      }
    };
    const contributors = mergeContributors(anomalies);
    $('detail').replaceChildren(
      el('div', { class: 'head', id: 'detail-head' }),
      el(
        'div',
        { class: 'actions' },
        el('button', { id: 'btn-ack', onclick: act('acknowledge', 'Acknowledged'), 'data-testid': 'acknowledge' }, 'Acknowledge'),
        el('button', { id: 'btn-resolve', class: 'secondary', onclick: act('resolve', 'Resolved'), 'data-testid': 'resolve' }, 'Resolve'),
        el('button', { id: 'btn-fp', class: 'danger', onclick: act('false-positive', 'Marked as a false positive'), 'data-testid': 'false-positive' }, 'False positive'),
        reason,
      ),
      el('p', { id: 'action-message', class: 'muted small', 'data-testid': 'action-message' }),
      el('h3', { text: 'What happened' }),
      el('div', { class: 'explanation', text: i.explanation, 'data-testid': 'explanation' }),
      el('h3', {}, 'Observed vs baseline ', el('span', { id: 'series-metric', class: 'muted small' })),
      el('div', { id: 'chart', class: 'chart', 'data-testid': 'chart' }),
      el('p', { id: 'series-note', class: 'muted small' }),
      el(
        'div',
        { class: 'grid2' },
        contributorTable('Client IPs', contributors.ips),
        contributorTable('Paths', contributors.paths),
        contributorTable('Statuses', contributors.statuses),
      ),
      el('h3', { text: `Anomalies (${anomalies.length} of ${i.anomalyCount})` }),
      anomalyTable(anomalies),
      i.related.length ? el('h3', { text: 'Related' }) : null,
      i.related.length ? el('p', { class: 'small', text: i.related.map((r) => `${r.type} ${r.value}`).join(' · ') }) : null,
      el('h3', { text: 'History' }),
      el('table', {}, ...i.history.map((h) => el('tr', {}, el('td', { text: fmtTime(h.at) }), el('td', { text: h.action }), el('td', { text: h.actor }), el('td', { class: 'wrap', text: h.reason })))),
      sampleEvents.length ? el('h3', { text: `Sample requests (${sampleEvents.length})` }) : null,
      sampleEvents.length ? sampleTable(sampleEvents) : null,
    );
    renderDetailHead(i);
  }

  function mergeContributors(anomalies) {
    const merge = (pick) => {
      const m = new Map();
      for (const a of anomalies) for (const c of pick(a.contributors)) m.set(c.value, (m.get(c.value) || 0) + c.count);
      return [...m.entries()].sort((x, y) => y[1] - x[1]).slice(0, 10);
    };
    return { ips: merge((c) => c.ips), paths: merge((c) => c.paths), statuses: merge((c) => c.statuses) };
  }

  function contributorTable(title, rows) {
    return el(
      'div',
      { 'data-testid': 'contributors' },
      el('h3', { text: title }),
      rows.length ? el('table', {}, ...rows.map(([v, n]) => el('tr', {}, el('td', { class: 'wrap', text: v }), el('td', { class: 'num', text: fmtNum(n) })))) : el('p', { class: 'muted small', text: 'none' }),
    );
  }

  function anomalyTable(anomalies) {
    const rows = [...anomalies].sort((a, b) => b.windowStart - a.windowStart).slice(0, 50);
    return el(
      'table',
      {},
      el('tr', {}, ...['window', 'detector', 'metric', 'observed', 'expected', 'band', 'score'].map((h) => el('th', { text: h }))),
      ...rows.map((a) =>
        el(
          'tr',
          { title: a.explanation },
          el('td', { text: fmtTime(a.windowStart) }),
          el('td', { text: a.detector }),
          el('td', { text: a.metric }),
          el('td', { class: 'num', text: fmtNum(a.observed) }),
          el('td', { class: 'num', text: fmtNum(a.expected) }),
          el('td', { class: 'num', text: `${fmtNum(a.lower)}–${fmtNum(a.upper)}` }),
          el('td', { class: 'num', text: fmtNum(a.score) }),
        ),
      ),
    );
  }

  function sampleTable(events) {
    return el(
      'table',
      {},
      el('tr', {}, ...['time', 'client', 'request', 'status', 'ms'].map((h) => el('th', { text: h }))),
      ...events.slice(0, 20).map((e) =>
        el('tr', {}, el('td', { text: fmtTime(e.ts) }), el('td', { text: e.clientIp }), el('td', { class: 'wrap', text: `${e.method} ${e.path}${e.query ? '?' + e.query : ''}` }), el('td', { class: 'num', text: e.status }), el('td', { class: 'num', text: fmtNum(e.latencyMs) })),
      ),
    );
  }

  async function loadSeries(id, metric) {
    let s;
    try {
      s = await api(`/v1/incidents/${encodeURIComponent(id)}/series${metric ? `?metric=${encodeURIComponent(metric)}` : ''}`);
    } catch (e) {
      const note = $('series-note');
      if (note) note.textContent = `No chart: ${e.message}`;
      return;
    }
    if (state.selected !== id || !$('chart')) return;
    const pick = el('select', { onchange: (ev) => loadSeries(id, ev.target.value) }, ...s.metrics.map((m) => el('option', { value: m, ...(m === s.metric ? { selected: 'selected' } : {}) }, m)));
    $('series-metric').replaceChildren(`${s.entityType} ${s.entity} · per ${Math.round(s.windowMs / 1000)} s window · `, pick);
    $('series-note').textContent =
      (s.observedSource === 'access_events'
        ? 'Observed: recomputed from the stored requests of this entity. '
        : 'Observed: the detector’s value in the windows where it fired (this metric is not recomputable from requests). ') +
      'Band and expected: the baseline the detector reported where it fired.' +
      (s.truncated ? ' Older windows are blank: too many requests to read them all.' : '');
    drawChart(s);
  }

  function drawChart(s) {
    const box = $('chart');
    if (state.chart) state.chart.destroy();
    state.chart = null;
    box.replaceChildren();
    if (typeof uPlot !== 'function') {
      box.textContent = 'Chart library not loaded.';
      return;
    }
    const xs = s.points.map((p) => p.t / 1000);
    const data = [xs, s.points.map((p) => p.upper), s.points.map((p) => p.lower), s.points.map((p) => p.expected), s.points.map((p) => p.observed), s.points.map((p) => (p.anomalous ? p.observed : null))];
    const width = Math.max(320, box.clientWidth - 16);
    state.chart = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: true } },
        axes: [{ stroke: '#8595a6', grid: { stroke: '#26303b' } }, { stroke: '#8595a6', grid: { stroke: '#26303b' } }],
        series: [
          {},
          // The band exists only where the detector fired: draw its ends as markers so a lone window shows.
          { label: 'upper', stroke: 'rgba(74,163,255,.7)', width: 1, points: { show: true, size: 6, fill: 'rgba(74,163,255,.7)' } },
          { label: 'lower', stroke: 'rgba(74,163,255,.7)', width: 1, points: { show: true, size: 6, fill: 'rgba(74,163,255,.7)' } },
          { label: 'expected', stroke: '#4aa3ff', dash: [4, 4], width: 1, points: { show: true, size: 5, fill: '#4aa3ff' } },
          { label: s.metric, stroke: '#dbe2ea', width: 2, spanGaps: false },
          { label: 'anomalous', stroke: '#ff4d5e', width: 1, points: { show: true, size: 10, width: 2, fill: '#ff4d5e', stroke: '#ff4d5e' } },
        ],
        bands: [{ series: [1, 2], fill: 'rgba(74,163,255,.15)' }],
      },
      data,
      box,
    );
  }

  // ------------------------------------------------------------------ top offenders

  async function refreshTop() {
    if (!state.key) return;
    let top;
    try {
      top = await api('/v1/stats/top?limit=5');
    } catch {
      return;
    }
    const section = (title, rows) =>
      el(
        'div',
        {},
        el('h3', { text: title }),
        rows.length
          ? el('table', {}, ...rows.map((r) => el('tr', {}, el('td', { class: 'wrap', text: r.entity }), el('td', { class: `sev ${r.maxSeverity}`, text: r.maxSeverity }), el('td', { class: 'num', text: r.anomalies }))))
          : el('p', { class: 'muted small', text: 'none yet' }),
      );
    $('top').replaceChildren(section('IPs', top.ips), section('Tokens', top.tokens), section('Endpoints', top.endpoints));
  }

  // ------------------------------------------------------------------ boot

  if (state.key) {
    start().catch(() => signOut('Your session ended; sign in again.'));
  } else {
    signOut();
  }
})();
