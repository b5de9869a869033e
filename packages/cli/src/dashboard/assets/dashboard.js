// The hostmesh dashboard: renders what /events sends every second (the same data as
// `hostmesh ps --json`). No framework; uPlot (served from node_modules) draws calls/s.
'use strict';

const token = new URLSearchParams(location.search).get('token');
const statusLine = document.getElementById('status');
const HISTORY = 120;
/** Per route: the calls counted at the previous snapshot, for calls/s. */
const previous = new Map();
const series = { at: [], byRoute: new Map() };
let chart;

const text = (tag, value, attributes = {}) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, attribute] of Object.entries(attributes)) node.setAttribute(name, attribute);
  if (value !== undefined) node.textContent = value;
  return node;
};
const micros = (us) => (us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);

/** Every route of every instance, summed per route: calls, errors, the worst percentiles, the merged histogram. */
function routesOf(instances) {
  const routes = new Map();
  for (const instance of instances) {
    const health = instance.health;
    if (!health) continue;
    for (const [kind, list] of [
      ['endpoint', health.endpoints],
      ['event', health.events],
    ]) {
      for (const route of list) {
        // An event has a route in each service that subscribes to it: one each, with its own mechanism.
        const key = kind === 'event' ? `event:${instance.service}:${route.name}` : `endpoint:${route.name}`;
        const entry = routes.get(key) ?? {
          kind,
          name: route.name,
          service: instance.service,
          mechanism: route.mechanism,
          calls: 0,
          errors: 0,
          p50Us: 0,
          p99Us: 0,
          histogram: new Map(),
        };
        entry.calls += route.calls;
        entry.errors += route.errors;
        entry.p50Us = Math.max(entry.p50Us, route.p50Us);
        entry.p99Us = Math.max(entry.p99Us, route.p99Us);
        for (const [upper, count] of route.histogram ?? []) entry.histogram.set(upper, (entry.histogram.get(upper) ?? 0) + count);
        routes.set(key, entry);
      }
    }
  }
  return [...routes.values()];
}

function drawTopology(instances, routes) {
  const svg = document.getElementById('topology');
  svg.replaceChildren();
  const services = [...new Set(instances.map((i) => i.service))];
  // Each service a node on the left, its endpoints and events stacked to its right, each
  // edge labelled with the mechanism that carries it.
  let top = 20;
  for (const service of services) {
    const own = routes.filter((r) => r.service === service);
    const height = Math.max(80, own.length * 32 + 16);
    const cy = top + height / 2;
    const count = instances.filter((i) => i.service === service).length;
    const node = text('g', undefined, { class: 'service', 'data-service': service });
    node.append(
      text('circle', undefined, { cx: '90', cy: String(cy), r: '26' }),
      text('text', `${service} ×${count}`, { x: '90', y: String(cy + 44), 'text-anchor': 'middle' }),
    );
    svg.append(node);
    own.forEach((route, k) => {
      const y = top + 8 + k * 32 + (height - 16 - own.length * 32) / 2;
      svg.append(text('path', undefined, { class: 'edge', fill: 'none', d: `M116 ${cy} C 200 ${cy}, 200 ${y + 12}, 300 ${y + 12}` }));
      const box = text('g', undefined, { class: 'route', 'data-route': route.name });
      box.append(
        text('rect', undefined, { x: '300', y: String(y), width: '190', height: '24', rx: '4' }),
        text('text', route.kind === 'event' ? `on ${route.name}` : route.name, { x: '306', y: String(y + 16) }),
      );
      svg.append(box, text('text', route.mechanism, { class: 'edge-label', 'data-route': route.name, x: '246', y: String(y + 9) }));
    });
    top += height + 24;
  }
  svg.style.height = `${Math.max(200, top)}px`;
}

function histogramSvg(histogram) {
  const entries = [...histogram.entries()].sort((a, b) => a[0] - b[0]);
  const max = Math.max(1, ...entries.map(([, count]) => count));
  const svg = text('svg', undefined, { class: 'histogram', width: '160', height: '28' });
  entries.forEach(([upper, count], i) => {
    const height = Math.max(1, (count / max) * 26);
    const bar = text('rect', undefined, { x: String(i * 10), y: String(28 - height), width: '8', height: String(height) });
    bar.append(text('title', `≤ ${micros(upper)}: ${count}`));
    svg.append(bar);
  });
  return svg;
}

function drawTables(instances, routes, rates) {
  const endpoints = document.querySelector('#endpoints tbody');
  endpoints.replaceChildren(
    ...routes.map((route) => {
      const row = document.createElement('tr');
      row.dataset.route = route.name;
      const cells = [
        route.name,
        route.mechanism,
        String(route.calls),
        rates.get(route.name)?.toFixed(1) ?? '0.0',
        String(route.errors),
        micros(route.p50Us),
        micros(route.p99Us),
      ];
      for (const value of cells) row.append(Object.assign(document.createElement('td'), { textContent: value }));
      const last = document.createElement('td');
      last.append(histogramSvg(route.histogram));
      row.append(last);
      row.children[2].className = 'calls';
      return row;
    }),
  );
  const rows = document.querySelector('#instances tbody');
  rows.replaceChildren(
    ...instances.map((i) => {
      const row = document.createElement('tr');
      const queues = (i.health?.transports ?? [])
        .filter((t) => t.kind === 'mqueue')
        .map((t) => `${t.messages}/${t.depth}`)
        .join(' ');
      for (const value of [
        `${i.service}@${i.instance}`,
        i.pid === undefined ? '-' : i.group ? `${i.pid} (${i.group})` : String(i.pid),
        i.state,
        String(i.restarts),
        String(i.health?.inFlight ?? '-'),
        i.callsPerSecond.toFixed(0),
        queues || '-',
        // the worst state any caller's breaker is in for it; '-' when no caller balances across its replicas
        i.seenByCallers?.breaker ?? '-',
      ])
        row.append(Object.assign(document.createElement('td'), { textContent: value }));
      return row;
    }),
  );
}

function drawRates(at, rates) {
  series.at.push(at / 1000);
  for (const name of rates.keys())
    if (!series.byRoute.has(name))
      series.byRoute.set(
        name,
        series.at.slice(0, -1).map(() => null),
      );
  for (const [name, values] of series.byRoute) values.push(rates.get(name) ?? null);
  if (series.at.length > HISTORY) {
    series.at.shift();
    for (const values of series.byRoute.values()) values.shift();
  }
  const names = [...series.byRoute.keys()];
  const data = [series.at, ...names.map((name) => series.byRoute.get(name))];
  if (!chart || chart.series.length !== names.length + 1) {
    chart?.destroy();
    const colors = ['#2563eb', '#b45309', '#1a7f37', '#9333ea', '#dc2626', '#0891b2'];
    chart = new uPlot(
      {
        width: Math.min(900, document.body.clientWidth - 40),
        height: 200,
        series: [{}, ...names.map((name, i) => ({ label: name, stroke: colors[i % colors.length] }))],
      },
      data,
      document.getElementById('rate'),
    );
  } else chart.setData(data);
}

function render(state) {
  document.getElementById('namespace').textContent =
    `namespace ${state.namespace}${state.supervisor ? ` · supervisor pid ${state.supervisor.pid} (${state.supervisor.state})` : ''}`;
  const at = Date.parse(state.at);
  const routes = routesOf(state.instances);
  const rates = new Map();
  for (const route of routes) {
    const before = previous.get(route.name);
    rates.set(route.name, before ? Math.max(0, ((route.calls - before.calls) * 1000) / Math.max(1, at - before.at)) : 0);
    previous.set(route.name, { calls: route.calls, at });
  }
  drawTopology(state.instances, routes);
  drawTables(state.instances, routes, rates);
  drawRates(at, rates);
}

const events = new EventSource(`/events?token=${encodeURIComponent(token ?? '')}`);
events.onmessage = (message) => {
  const state = JSON.parse(message.data);
  if (state.error) {
    statusLine.textContent = state.error;
    return;
  }
  statusLine.textContent = `live · ${new Date(state.at).toLocaleTimeString()}`;
  statusLine.className = 'live';
  render(state);
};
events.onerror = () => {
  statusLine.textContent = 'connection lost: retrying';
  statusLine.className = 'lost';
};
