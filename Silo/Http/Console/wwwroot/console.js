// OrleansMQ web console. Plain JavaScript, no dependencies: it polls the gateway's JSON API,
// computes rates from cumulative counters (GET /orleansmq/v1/stats) and draws its own charts.
'use strict';

(() => {
  const KEY_STORAGE = 'orleansmq.apiKey';
  const HISTORY = 120; // samples kept per chart series (two minutes at one poll a second)
  const POLL_MS = 1000;
  const GROUPS_EVERY = 5; // groups and their lag are polled every fifth tick: one lag call per group

  const $ = (id) => document.getElementById(id);

  const state = {
    paused: false,
    previous: null,
    topicRates: new Map(),
    expandedTopics: new Set(),
    expandedGroups: new Set(),
    topicsSignature: '',
    groupsSignature: '',
    chartTopic: null, // null: all topics
    series: {
      records: [],
      storageIn: [],
      kafkaIn: [],
      kafkaOut: [],
    },
    tick: 0,
  };

  // ---- API access, with the API key prompt ----

  class ApiError extends Error {
    constructor(status, title, detail) {
      super(detail ? `${title}: ${detail}` : title);
      this.status = status;
    }
  }

  let keyPrompt = null;

  /** Shows the key dialog once, however many requests answered 401 meanwhile. */
  function askForKey(message) {
    if (keyPrompt) return keyPrompt;
    setStatus('key', 'API key needed');
    const dialog = $('key-dialog');
    $('key-message').textContent = message;
    $('key-input').value = '';
    keyPrompt = new Promise((resolve) => {
      const form = $('key-form');
      const onSubmit = () => {
        const key = $('key-input').value.trim();
        if (!key) return;
        sessionStorage.setItem(KEY_STORAGE, key);
        form.removeEventListener('submit', onSubmit);
        keyPrompt = null;
        $('change-key').hidden = false;
        resolve();
      };
      form.addEventListener('submit', onSubmit);
    });
    if (!dialog.open) dialog.showModal();
    return keyPrompt;
  }

  async function api(path) {
    for (;;) {
      const key = sessionStorage.getItem(KEY_STORAGE);
      const headers = { Accept: 'application/json' };
      if (key) headers['X-API-Key'] = key;
      const response = await fetch(path, { headers, cache: 'no-store' });
      if (response.status === 401) {
        // A key that stopped working (rotated) is dropped, then the user is asked again.
        if (key && sessionStorage.getItem(KEY_STORAGE) === key) sessionStorage.removeItem(KEY_STORAGE);
        await askForKey(key ? 'The key was not accepted; enter another.' : 'This broker needs an API key.');
        continue;
      }

      const text = await response.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }

      if (!response.ok) {
        throw new ApiError(response.status, (body && body.title) || response.statusText, (body && body.detail) || text);
      }

      return body;
    }
  }

  const enc = encodeURIComponent;

  // ---- formatting ----

  const numberFormat = new Intl.NumberFormat('en-US');
  const fmtInt = (n) => numberFormat.format(n);

  function fmtShort(n) {
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e3) return (n / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
    if (a >= 10 || n === 0) return n.toFixed(0);
    return n.toFixed(1);
  }

  function fmtBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }

    return (i === 0 || n >= 100 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
  }

  function fmtTime(ms) {
    const d = new Date(ms);
    const pad = (v, w = 2) => String(v).padStart(w, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('data-')) node.setAttribute(k, v);
      else if (k === 'colspan') node.colSpan = v;
      else node.setAttribute(k, v);
    }

    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }

    return node;
  }

  function setStatus(kind, text) {
    const s = $('status');
    s.dataset.state = kind;
    s.textContent = text;
  }

  // ---- charts: a few lines of canvas drawing ----

  const COLORS = ['#2f6fde', '#1f9d55', '#e0892b', '#a855f7'];

  /** The smallest "round" top at or above v whose quarters (the grid lines) are round too. */
  function niceCeiling(v, base) {
    const unit = base === 1024 && v >= 1024 ? Math.pow(1024, Math.floor(Math.log(v) / Math.log(1024))) : 1;
    const scaled = v / unit;
    const p = Math.pow(10, Math.floor(Math.log10(scaled)));
    for (const m of [1, 2, 4, 8, 10]) {
      if (scaled <= m * p) return m * p * unit;
    }

    return 10 * p * unit;
  }

  /** Draws the lines right-aligned ("now" at the right edge); the window grows to HISTORY samples. */
  function drawChart(canvas, lines, format, minTop, base) {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(200, Math.round(canvas.clientWidth * dpr));
    const height = Math.max(100, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }

    const ctx = canvas.getContext('2d');
    const style = getComputedStyle(document.documentElement);
    const muted = style.getPropertyValue('--muted').trim() || '#667085';
    const grid = style.getPropertyValue('--border').trim() || '#dde3ea';
    ctx.clearRect(0, 0, width, height);
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;

    let max = 0;
    for (const line of lines) for (const v of line.values) max = Math.max(max, v);
    const top = niceCeiling(Math.max(max, minTop), base);
    const samples = Math.min(HISTORY, Math.max(30, ...lines.map((l) => l.values.length)));
    const left = 56 * dpr, right = 10 * dpr, upper = 10 * dpr, lower = 18 * dpr;
    const plotW = width - left - right, plotH = height - upper - lower;

    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.fillStyle = muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = upper + plotH - (plotH * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(width - right, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(format((top * i) / 4), left - 6 * dpr, y);
    }

    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(`-${samples}s`, left, height - 2 * dpr);
    ctx.textAlign = 'right';
    ctx.fillText('now', width - right, height - 2 * dpr);

    const step = plotW / (samples - 1);
    lines.forEach((line) => {
      const values = line.values;
      if (values.length === 0) return;
      const x0 = left + (samples - values.length) * step;
      const y = (v) => upper + plotH - (plotH * v) / top;
      ctx.beginPath();
      values.forEach((v, i) => (i === 0 ? ctx.moveTo(x0, y(v)) : ctx.lineTo(x0 + i * step, y(v))));
      ctx.strokeStyle = line.color;
      ctx.lineWidth = 2 * dpr;
      ctx.lineJoin = 'round';
      ctx.stroke();
      // A light fill under the first series makes the shape readable at a glance.
      if (line.fill) {
        ctx.lineTo(x0 + (values.length - 1) * step, upper + plotH);
        ctx.lineTo(x0, upper + plotH);
        ctx.closePath();
        ctx.globalAlpha = 0.12;
        ctx.fillStyle = line.color;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    });

    canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
  }

  function legend(container, lines, format) {
    container.replaceChildren(...lines.map((line) => {
      const last = line.values.length ? line.values[line.values.length - 1] : 0;
      const swatch = el('span', { class: 'swatch' });
      swatch.style.background = line.color;
      return el('span', { 'data-series': line.key }, swatch, line.label, el('b', { text: format(last) }));
    }));
  }

  function push(series, value) {
    series.push(value);
    if (series.length > HISTORY) series.shift();
  }

  function redrawCharts() {
    const records = [{ key: 'records', label: state.chartTopic ? `records in (${state.chartTopic})` : 'records in', color: COLORS[0], values: state.series.records, fill: true }];
    const bytes = [
      { key: 'storage-in', label: 'appended to storage', color: COLORS[0], values: state.series.storageIn, fill: true },
      { key: 'kafka-in', label: 'Kafka in', color: COLORS[1], values: state.series.kafkaIn },
      { key: 'kafka-out', label: 'Kafka out', color: COLORS[2], values: state.series.kafkaOut },
    ];
    const perSecond = (f) => (v) => f(v) + '/s';
    drawChart($('chart-records'), records, fmtShort, 4, 10);
    legend($('legend-records'), records, perSecond(fmtShort));
    drawChart($('chart-bytes'), bytes, fmtBytes, 4096, 1024);
    legend($('legend-bytes'), bytes, perSecond(fmtBytes));
  }

  // ---- stats: summary cards, rates, topics table ----

  function topicEnd(stats, name) {
    const t = stats.topics.find((x) => x.topic === name);
    return t ? t.log_end_offset_sum : 0;
  }

  function applyStats(stats) {
    const prev = state.previous;
    if (prev) {
      const seconds = (stats.time_ms - prev.time_ms) / 1000;
      if (seconds > 0) {
        // Counters restart from zero with the silo; a negative difference is a restart, not a rate.
        const rate = (a, b) => Math.max(0, (a - b) / seconds);
        const recordsNow = state.chartTopic ? topicEnd(stats, state.chartTopic) : stats.records_in;
        const recordsBefore = state.chartTopic ? topicEnd(prev, state.chartTopic) : prev.records_in;
        const recordsRate = rate(recordsNow, recordsBefore);
        push(state.series.records, recordsRate);
        push(state.series.storageIn, rate(stats.storage_bytes_in, prev.storage_bytes_in));
        push(state.series.kafkaIn, rate(stats.kafka_bytes_in, prev.kafka_bytes_in));
        push(state.series.kafkaOut, rate(stats.kafka_bytes_out, prev.kafka_bytes_out));
        const total = rate(stats.records_in, prev.records_in);
        const grainCard = $('sum-grains');
        grainCard.dataset.rate = rate(stats.grain_calls, prev.grain_calls).toFixed(2);
        const card = $('rate-records');
        card.dataset.rate = total.toFixed(2);
        card.textContent = fmtShort(total);
        state.topicRates.clear();
        for (const t of stats.topics) {
          state.topicRates.set(t.topic, rate(t.log_end_offset_sum, topicEnd(prev, t.topic)));
        }
      }
    }

    state.previous = stats;
    $('sum-topics').textContent = fmtInt(stats.topics.length);
    $('sum-partitions').textContent = fmtInt(stats.topics.reduce((n, t) => n + t.partitions.length, 0));
    $('sum-messages').textContent = fmtShort(stats.topics.reduce((n, t) => n + t.messages, 0));
    $('sum-disk').textContent = fmtBytes(stats.storage_disk_bytes);
    $('sum-connections').textContent = fmtInt(stats.kafka_connections_open);
    const grains = $('sum-grains');
    grains.textContent = `${fmtInt(stats.grain_activations)} (${fmtShort(Number(grains.dataset.rate))})`;
    grains.title = stats.grains.map((g) => `${g.type}: ${g.activations}`).join('\n');
    renderTopics(stats);
    fillTopicSelect(stats);
    redrawCharts();
  }

  function renderTopics(stats) {
    const rates = stats.topics.map((t) => fmtShort(state.topicRates.get(t.topic) || 0));
    const signature = JSON.stringify([stats.topics, rates, [...state.expandedTopics], state.chartTopic]);
    if (signature === state.topicsSignature) return;
    state.topicsSignature = signature;

    const body = $('topics-body');
    if (stats.topics.length === 0) {
      body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: 7, text: 'No topics yet.' })));
      return;
    }

    const rows = [];
    stats.topics.forEach((t, i) => {
      const open = state.expandedTopics.has(t.topic);
      const start = t.partitions.reduce((n, p) => n + p.log_start_offset, 0);
      const charted = state.chartTopic === t.topic;
      rows.push(el('tr', { class: 'row', 'data-topic': t.topic, 'aria-expanded': String(open) },
        el('td', {}, el('span', { class: 'caret', text: open ? '▾' : '▸' }), el('span', { class: 'name', text: t.topic })),
        el('td', { class: 'num', text: fmtInt(t.partitions.length) }),
        el('td', { class: 'num', text: fmtInt(start) }),
        el('td', { class: 'num', text: fmtInt(t.log_end_offset_sum) }),
        el('td', { class: 'num', 'data-messages': t.messages, text: fmtInt(t.messages) }),
        el('td', { class: 'num', text: rates[i] }),
        el('td', { class: 'num' },
          el('button', { type: 'button', class: 'link', 'data-chart': t.topic, text: charted ? 'chart all' : 'chart' }),
          ' · ',
          el('button', { type: 'button', class: 'link', 'data-browse': t.topic, text: 'browse' }))));
      if (open) {
        const sub = el('table', { class: 'sub' },
          el('thead', {}, el('tr', {}, el('th', { class: 'num', text: 'Partition' }), el('th', { class: 'num', text: 'Log start' }), el('th', { class: 'num', text: 'Log end' }), el('th', { class: 'num', text: 'Messages' }))),
          el('tbody', {}, ...t.partitions.map((p) => el('tr', { 'data-partition': p.partition },
            el('td', { class: 'num', text: p.partition }),
            el('td', { class: 'num', text: fmtInt(p.log_start_offset) }),
            el('td', { class: 'num', text: fmtInt(p.log_end_offset) }),
            el('td', { class: 'num', text: fmtInt(p.log_end_offset - p.log_start_offset) })))));
        const keys = el('p', { class: 'muted small', text: t.index_keys ? 'Keys indexed: find by key works.' : 'Keys not indexed (orleansmq.index.keys=false): find by offset or time.' });
        rows.push(el('tr', { class: 'detail', 'data-detail-for': t.topic }, el('td', { colspan: 7 }, sub, keys)));
      }
    });
    body.replaceChildren(...rows);
  }

  function fillTopicSelect(stats) {
    const select = $('browse-topic');
    const names = stats.topics.map((t) => t.topic);
    const current = [...select.options].map((o) => o.value);
    if (JSON.stringify(names) === JSON.stringify(current)) return;
    const selected = select.value;
    select.replaceChildren(...names.map((n) => el('option', { value: n, text: n })));
    if (names.includes(selected)) select.value = selected;
  }

  // ---- groups ----

  async function refreshGroups() {
    let groups;
    try {
      groups = await api('/orleansmq/v1/groups');
    } catch (e) {
      if (e instanceof ApiError && e.status === 503) {
        $('groups-body').replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: 4, text: 'Group coordinator loading…' })));
        return;
      }

      throw e;
    }

    const lags = await Promise.all(groups.map((g) => api(`/orleansmq/v1/groups/${enc(g.group_id)}/lag`).catch(() => null)));
    const signature = JSON.stringify([groups, lags, [...state.expandedGroups]]);
    if (signature === state.groupsSignature) return;
    state.groupsSignature = signature;

    const body = $('groups-body');
    if (groups.length === 0) {
      body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: 4, text: 'No consumer groups.' })));
      return;
    }

    const rows = [];
    groups.forEach((g, i) => {
      const lag = lags[i];
      const open = state.expandedGroups.has(g.group_id);
      const total = lag ? lag.total_lag : null;
      rows.push(el('tr', { class: 'row', 'data-group': g.group_id, 'aria-expanded': String(open) },
        el('td', {}, el('span', { class: 'caret', text: open ? '▾' : '▸' }), el('span', { class: 'name', text: g.group_id })),
        el('td', { text: g.state }),
        el('td', { text: g.protocol_type || '–' }),
        el('td', { class: total > 1000 ? 'num lag-high' : 'num', 'data-lag': total ?? '', text: total === null ? '–' : fmtInt(total) })));
      if (open) {
        const partitions = lag ? lag.partitions : [];
        const content = partitions.length === 0
          ? el('p', { class: 'muted small', text: 'No committed offsets.' })
          : el('table', { class: 'sub' },
            el('thead', {}, el('tr', {}, ...['Topic', 'Partition', 'Committed', 'Log end', 'Lag', 'Member'].map((h, k) => el('th', { class: k > 0 && k < 5 ? 'num' : null, text: h })))),
            el('tbody', {}, ...partitions.map((p) => el('tr', {},
              el('td', { text: p.topic }),
              el('td', { class: 'num', text: p.partition }),
              el('td', { class: 'num', text: p.committed_offset === null ? '–' : fmtInt(p.committed_offset) }),
              el('td', { class: 'num', text: fmtInt(p.log_end_offset) }),
              el('td', { class: 'num', text: p.lag === null ? '–' : fmtInt(p.lag) }),
              el('td', { text: p.client_id ? `${p.client_id} (${p.member_id})` : (p.member_id || '–') })))));
        rows.push(el('tr', { class: 'detail', 'data-detail-for': g.group_id }, el('td', { colspan: 4 }, content)));
      }
    });
    body.replaceChildren(...rows);
  }

  // ---- message browser ----

  function mode() {
    return document.querySelector('input[name="mode"]:checked').value;
  }

  function showMode() {
    const m = mode();
    for (const f of document.querySelectorAll('.mode-fields')) f.hidden = f.dataset.mode !== m;
    document.querySelector('.limit').hidden = m === 'offset';
  }

  function payload(text, base64) {
    if (base64 === null || base64 === undefined) return el('span', { class: 'binary', text: 'null' });
    if (text === null || text === undefined) return el('span', { class: 'binary', title: base64, text: `binary (${Math.floor((base64.length * 3) / 4)} bytes, base64 ${base64.slice(0, 24)}…)` });
    return el('pre', { text });
  }

  async function browse() {
    const topic = $('browse-topic').value;
    const status = $('browse-status');
    if (!topic) {
      status.textContent = 'Pick a topic.';
      return;
    }

    let path;
    const m = mode();
    const limit = $('browse-limit').value || '50';
    if (m === 'offset') {
      const p = $('browse-partition').value || '0';
      const offset = $('browse-offset').value;
      path = `/orleansmq/v1/topics/${enc(topic)}/partitions/${enc(p)}/messages?count=${enc($('browse-count').value || '20')}` + (offset !== '' ? `&offset=${enc(offset)}` : '');
    } else if (m === 'key') {
      path = `/orleansmq/v1/topics/${enc(topic)}/messages?key=${enc($('browse-key').value)}&limit=${enc(limit)}`;
    } else {
      const from = $('browse-from').value, to = $('browse-to').value;
      if (!from && !to) {
        status.textContent = 'Give a start and/or an end time.';
        status.className = 'error';
        return;
      }

      // datetime-local is local time without a zone; Date parses it as local and gives UTC ms.
      path = `/orleansmq/v1/topics/${enc(topic)}/messages?limit=${enc(limit)}` + (from ? `&from=${new Date(from).getTime()}` : '') + (to ? `&to=${new Date(to).getTime()}` : '');
    }

    status.className = 'muted';
    status.textContent = 'Searching…';
    const table = $('records');
    try {
      const result = await api(path);
      const records = result.records || [];
      $('records-body').replaceChildren(...records.map((r) => el('tr', { 'data-partition': r.partition, 'data-offset': r.offset },
        el('td', { class: 'num', text: r.partition }),
        el('td', { class: 'num', text: r.offset }),
        el('td', { title: String(r.timestamp), text: fmtTime(r.timestamp) }),
        el('td', { class: 'key' }, payload(r.key_text, r.key)),
        el('td', { class: 'value' }, payload(r.value_text, r.value)),
        el('td', {}, ...(r.headers || []).map((h) => el('div', {}, `${h.key}=`, payload(h.value_text, h.value)))))));
      table.dataset.count = String(records.length);
      table.hidden = records.length === 0;
      status.textContent = records.length === 0 ? 'No records.' : `${records.length} record${records.length === 1 ? '' : 's'}.`;
    } catch (e) {
      $('records-body').replaceChildren();
      table.dataset.count = '0';
      table.hidden = true;
      status.className = 'error';
      status.textContent = e.message;
    }
  }

  // ---- wiring ----

  function wire() {
    $('topics-body').addEventListener('click', (e) => {
      const chart = e.target.closest('[data-chart]');
      if (chart) {
        const t = chart.dataset.chart;
        state.chartTopic = state.chartTopic === t ? null : t;
        state.series.records.length = 0; // a different quantity from here on
        $('chart-records-topic').textContent = state.chartTopic ? `topic ${state.chartTopic}` : 'all topics';
        if (state.previous) renderTopics(state.previous);
        redrawCharts();
        return;
      }

      const browseButton = e.target.closest('[data-browse]');
      if (browseButton) {
        $('browse-topic').value = browseButton.dataset.browse;
        $('browse').scrollIntoView({ behavior: 'smooth' });
        return;
      }

      const row = e.target.closest('tr.row');
      if (!row) return;
      const t = row.dataset.topic;
      if (state.expandedTopics.has(t)) state.expandedTopics.delete(t);
      else state.expandedTopics.add(t);
      if (state.previous) renderTopics(state.previous);
    });

    $('groups-body').addEventListener('click', (e) => {
      const row = e.target.closest('tr.row');
      if (!row) return;
      const g = row.dataset.group;
      if (state.expandedGroups.has(g)) state.expandedGroups.delete(g);
      else state.expandedGroups.add(g);
      refreshGroups().catch(() => {});
    });

    for (const r of document.querySelectorAll('input[name="mode"]')) r.addEventListener('change', showMode);
    $('browse').addEventListener('submit', (e) => {
      e.preventDefault();
      browse();
    });

    $('pause').addEventListener('click', () => {
      state.paused = !state.paused;
      $('pause').textContent = state.paused ? 'Resume' : 'Pause';
      $('pause').setAttribute('aria-pressed', String(state.paused));
      state.previous = null; // no rate across the pause
      setStatus(state.paused ? 'paused' : 'live', state.paused ? 'paused' : 'live');
    });

    $('change-key').hidden = !sessionStorage.getItem(KEY_STORAGE);
    $('change-key').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORAGE);
      askForKey('Enter the API key to use.');
    });

    // Esc would close the dialog with no key and leave the page waiting; keep it open until a key is given.
    $('key-dialog').addEventListener('cancel', (e) => e.preventDefault());
    window.addEventListener('resize', redrawCharts);
  }

  async function tick() {
    const stats = await api('/orleansmq/v1/stats');
    applyStats(stats);
    if (state.tick++ % GROUPS_EVERY === 0) await refreshGroups();
  }

  async function loop() {
    for (;;) {
      const started = Date.now();
      if (!state.paused) {
        try {
          await tick();
          setStatus('live', 'live · ' + new Date().toLocaleTimeString());
        } catch (e) {
          setStatus('error', e.message || 'unreachable');
        }
      }

      await new Promise((r) => setTimeout(r, Math.max(100, POLL_MS - (Date.now() - started))));
    }
  }

  wire();
  showMode();
  redrawCharts();
  loop();
})();
