/**
 * Just enough SVG to chart a bench run without a plotting dependency: grouped bars and
 * lines over a linear or log value axis. Renderers return a Chart (a fragment and its
 * size) so panels can be placed side by side before `toSvg` wraps them into a document.
 */

export interface Chart {
  width: number;
  height: number;
  body: string;
}

export interface Series {
  name: string;
  color: string;
  /** Drawn dashed in line charts: marks the baseline without relying on colour alone. */
  dashed?: boolean;
}

export interface BarSeries extends Series {
  /** One per category. Missing, NaN, null (NaN after a JSON round trip) or ≤ 0 on a log axis leave a gap. */
  values: Array<number | undefined>;
  /** A low–high whisker per category: the spread over rounds. */
  ranges?: Array<[number, number] | undefined>;
  /** Short text above a bar, for what the height alone would hide. */
  notes?: Array<string | undefined>;
}

export interface LineSeries extends Series {
  points: Array<{ x: number; y: number | undefined }>;
}

export interface Axis {
  label: string;
  log?: boolean;
  format?: (value: number) => string;
}

interface Common {
  title: string;
  subtitle?: string;
  footnotes?: string[];
  /** Off for all but one of several panels that share a legend. */
  legend?: boolean;
}

export interface BarChartSpec extends Common {
  categories: string[];
  series: BarSeries[];
  value: Axis;
}

export interface LineChartSpec extends Common {
  series: LineSeries[];
  /** Ticks sit at the x values present in the data (payload sizes, client counts). */
  x: Axis;
  y: Axis;
}

// Sizes only: without a text-measuring engine, glyph advances are estimated.
const CHAR = 6.6;
const TOP = 56;
const LEFT = 76;
const BOTTOM = 60;
const PLOT_H = 280;
const LINE = 16;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** One decimal place keeps the files small and diffable. */
const px = (value: number) => String(Math.round(value * 10) / 10);

export function compact(value: number): string {
  return String(Number(value.toPrecision(3)));
}

export function isValue(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

interface Scale {
  fits(value: unknown): value is number;
  /** 0 at the low end of the domain, 1 at the high end. */
  at(value: number): number;
  ticks: number[];
}

/** Log ticks are whole decades only, so a reader can compare bars by counting decades. */
function valueScale(values: unknown[], log = false): Scale {
  const fits = (v: unknown): v is number => isValue(v) && (!log || v > 0);
  const usable = values.filter(fits);
  if (log) {
    // The epsilon drops an exact decade minimum one decade lower, so its bar keeps some height.
    const lo = usable.length ? Math.floor(Math.log10(Math.min(...usable)) - 1e-9) : 0;
    const top = usable.length ? Math.ceil(Math.log10(Math.max(...usable))) : 1;
    const step = Math.ceil(Math.max(1, top - lo) / 8);
    const hi = lo + step * Math.ceil(Math.max(1, top - lo) / step);
    const ticks: number[] = [];
    for (let k = lo; k <= hi; k += step) ticks.push(10 ** k);
    return { fits, ticks, at: (v) => (Math.log10(v) - lo) / (hi - lo) };
  }
  const max = Math.max(0, ...usable);
  const raw = max > 0 ? max / 5 : 0.2;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = magnitude * [1, 2, 5, 10].find((m) => m * magnitude >= raw * (1 - 1e-9))!;
  const hi = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let i = 0; i * step <= hi * (1 + 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)));
  return { fits, ticks, at: (v) => Math.max(0, v) / hi };
}

/** Ticks at the data's own x values: payload sizes and client counts are rarely round numbers. */
function pointScale(xs: number[], log = false): Scale {
  const fits = (v: unknown): v is number => isValue(v) && (!log || v > 0);
  const ticks = [...new Set(xs.filter(fits))].sort((a, b) => a - b);
  const t = (v: number) => (log ? Math.log10(v) : v);
  const lo = ticks.length ? t(ticks[0]!) : 0;
  const hi = ticks.length ? t(ticks[ticks.length - 1]!) : 1;
  const span = hi - lo || 1;
  return { fits, ticks, at: (v) => (hi === lo ? 0.5 : (t(v) - lo) / span) };
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`;
}

function header(spec: Common): string {
  return [text(12, 22, spec.title, 'font-size="15" font-weight="bold"'), spec.subtitle ? text(12, 40, spec.subtitle, 'font-size="11" fill="#555"') : ''].join(
    '',
  );
}

/** Series without data stay in the legend, faded and marked, so a missing target is visible. */
function legend(series: Series[], empty: Set<Series>, x: number, y: number, kind: 'bar' | 'line'): string {
  return series
    .map((s, i) => {
      const top = y + i * 18;
      const none = empty.has(s);
      const swatch =
        kind === 'bar'
          ? `<rect x="${px(x)}" y="${px(top)}" width="12" height="12" fill="${s.color}"/>`
          : `<line x1="${px(x)}" y1="${px(top + 6)}" x2="${px(x + 14)}" y2="${px(top + 6)}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`;
      const label = `<text x="${px(x + 20)}" y="${px(top + 10)}">${escapeXml(s.name)}${none ? ' <tspan fill="#999">(no data)</tspan>' : ''}</text>`;
      return (none ? `<g opacity="0.4">${swatch}</g>` : swatch) + label;
    })
    .join('');
}

const legendWidth = (series: Series[], empty: Set<Series>) => 28 + Math.max(0, ...series.map((s) => s.name.length + (empty.has(s) ? 10 : 0))) * CHAR;

function valueAxis(scale: Scale, axis: Axis, plotW: number, plotH: number): string {
  const format = axis.format ?? compact;
  const log = axis.log ?? false;
  const ticks = scale.ticks.map((v) => {
    const y = TOP + plotH - scale.at(v) * plotH;
    return (
      `<g class="tick" data-axis="y" data-scale="${log ? 'log' : 'linear'}" data-value="${v}">` +
      `<line x1="${LEFT}" y1="${px(y)}" x2="${px(LEFT + plotW)}" y2="${px(y)}" stroke="#e4e4e4"/>` +
      text(LEFT - 6, y + 4, format(v), 'text-anchor="end" fill="#333"') +
      '</g>'
    );
  });
  const mid = TOP + plotH / 2;
  return (
    ticks.join('') +
    text(16, mid, axis.label + (log ? ' (log scale)' : ''), `text-anchor="middle" transform="rotate(-90 16 ${px(mid)})"`) +
    `<path d="M${LEFT} ${TOP}V${TOP + plotH}H${px(LEFT + plotW)}" fill="none" stroke="#333"/>`
  );
}

function frame(spec: Common, series: Series[], empty: Set<Series>, kind: 'bar' | 'line', plotW: number, plotH: number, plotBody: string): Chart {
  const shown = spec.legend !== false && series.length > 0;
  const footnotes = spec.footnotes ?? [];
  const bottom = TOP + plotH + BOTTOM;
  const width = Math.max(
    LEFT + plotW + (shown ? 24 + legendWidth(series, empty) : 0) + 12,
    ...footnotes.map((f) => 24 + f.length * CHAR * 0.92),
    24 + spec.title.length * CHAR * 1.25,
    24 + (spec.subtitle ?? '').length * CHAR * 0.92,
  );
  const body = [
    header(spec),
    plotBody,
    shown ? legend(series, empty, LEFT + plotW + 24, TOP, kind) : '',
    ...footnotes.map((f, i) => text(12, bottom + i * LINE, f, 'font-size="11" fill="#555"')),
  ].join('\n');
  return { width: Math.ceil(width), height: Math.ceil(bottom + footnotes.length * LINE + 4), body };
}

export function barChart(spec: BarChartSpec): Chart {
  const { categories, series } = spec;
  const log = spec.value.log ?? false;
  const scale = valueScale(
    series.flatMap((s) => [...s.values, ...(s.ranges ?? []).flatMap((r) => r ?? [])]),
    log,
  );
  // Only series with something to draw get a slot, so a target absent from the chart leaves no
  // hole; bars narrow as targets are added, so 2 and 12 targets both fit a page-wide chart.
  const drawn = series.filter((s) => s.values.some((v) => scale.fits(v)));
  const empty = new Set(series.filter((s) => !drawn.includes(s)));
  const bar = Math.max(6, Math.min(24, Math.floor(520 / Math.max(1, categories.length * drawn.length))));
  const group = drawn.length * bar + Math.max(18, bar);
  const label = Math.max(0, ...categories.map((c) => c.length * CHAR + 12));
  const plotW = Math.max(320, categories.length * Math.max(group, label));
  const groupW = plotW / Math.max(1, categories.length);
  const plotH = Math.max(PLOT_H, series.length * 18);
  const format = spec.value.format ?? compact;
  const y = (v: number) => TOP + plotH - scale.at(v) * plotH;
  const marks: string[] = [];
  categories.forEach((category, c) => {
    const left = LEFT + c * groupW + (groupW - drawn.length * bar) / 2;
    marks.push(text(LEFT + (c + 0.5) * groupW, TOP + plotH + 18, category, 'text-anchor="middle"'));
    drawn.forEach((s, i) => {
      const value = s.values[c];
      if (!scale.fits(value)) return;
      const x = left + i * bar;
      const top = y(value);
      marks.push(
        `<rect x="${px(x + 1)}" y="${px(top)}" width="${px(bar - 2)}" height="${px(TOP + plotH - top)}" fill="${s.color}">` +
          `<title>${escapeXml(`${s.name}, ${category}: ${format(value)}`)}</title></rect>`,
      );
      const range = s.ranges?.[c];
      if (range && scale.fits(range[0]) && scale.fits(range[1])) {
        const [lo, hi] = [y(range[0]), y(range[1])];
        const mid = x + bar / 2;
        marks.push(`<path d="M${px(mid)} ${px(lo)}V${px(hi)}M${px(mid - 3)} ${px(lo)}h6M${px(mid - 3)} ${px(hi)}h6" stroke="#222" fill="none"/>`);
      }
      const note = s.notes?.[c];
      const noteY = (range && scale.fits(range[1]) ? Math.min(top, y(range[1])) : top) - 4;
      if (note) marks.push(text(x + bar / 2, noteY, note, 'text-anchor="middle" font-size="10" fill="#c00"'));
    });
  });
  return frame(spec, series, empty, 'bar', plotW, plotH, valueAxis(scale, spec.value, plotW, plotH) + marks.join(''));
}

export function lineChart(spec: LineChartSpec): Chart {
  const { series } = spec;
  const xScale = pointScale(
    series.flatMap((s) => s.points.map((p) => p.x)),
    spec.x.log,
  );
  const yScale = valueScale(
    series.flatMap((s) => s.points.map((p) => p.y)),
    spec.y.log ?? false,
  );
  const formatX = spec.x.format ?? compact;
  const formatY = spec.y.format ?? compact;
  const inset = 14; // keeps end points off the axes
  // Unevenly spaced x values (64 B, 1 KiB, 1 MiB, …) widen the plot until neighbours' labels fit.
  const gaps = xScale.ticks.slice(1).map((v, i) => xScale.at(v) - xScale.at(xScale.ticks[i]!));
  const plotW = Math.min(1400, Math.max(360, xScale.ticks.length * 64, 2 * inset + 64 / Math.min(1, ...gaps.filter((g) => g > 0))));
  const plotH = Math.max(PLOT_H, series.length * 18);
  const xAt = (x: number) => LEFT + inset + xScale.at(x) * (plotW - 2 * inset);
  const yAt = (v: number) => TOP + plotH - yScale.at(v) * plotH;
  let labelledTo = -Infinity; // crowded x labels are skipped, their tick marks kept
  const xTicks = xScale.ticks.map((v) => {
    const label = formatX(v);
    const half = (label.length * CHAR) / 2 + 4;
    const show = xAt(v) - half >= labelledTo;
    if (show) labelledTo = xAt(v) + half;
    return (
      `<g class="tick" data-axis="x" data-value="${v}">` +
      `<line x1="${px(xAt(v))}" y1="${TOP + plotH}" x2="${px(xAt(v))}" y2="${TOP + plotH + 5}" stroke="#333"/>` +
      (show ? text(xAt(v), TOP + plotH + 18, label, 'text-anchor="middle"') : '') +
      '</g>'
    );
  });
  const xLabel = text(LEFT + plotW / 2, TOP + plotH + 36, spec.x.label + (spec.x.log ? ' (log scale)' : ''), 'text-anchor="middle"');
  const lines = series.map((s) => {
    const points = s.points.filter((p) => xScale.fits(p.x)).sort((a, b) => a.x - b.x);
    // A missing y breaks the line rather than bridging it with a guess.
    let d = '';
    let pen = 'M';
    const dots: string[] = [];
    for (const p of points) {
      if (!yScale.fits(p.y)) {
        pen = 'M';
        continue;
      }
      d += `${pen}${px(xAt(p.x))} ${px(yAt(p.y))}`;
      pen = 'L';
      dots.push(
        `<circle cx="${px(xAt(p.x))}" cy="${px(yAt(p.y))}" r="3" fill="${s.color}">` +
          `<title>${escapeXml(`${s.name}, ${formatX(p.x)}: ${formatY(p.y)}`)}</title></circle>`,
      );
    }
    const path = d ? `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>` : '';
    return path + dots.join('');
  });
  const plot = valueAxis(yScale, spec.y, plotW, plotH) + xTicks.join('') + xLabel + lines.join('');
  const empty = new Set(series.filter((s) => !s.points.some((p) => xScale.fits(p.x) && yScale.fits(p.y))));
  return frame(spec, series, empty, 'line', plotW, plotH, plot);
}

export function sideBySide(charts: Chart[]): Chart {
  let x = 0;
  const body = charts.map((chart) => {
    const placed = `<g transform="translate(${px(x)} 0)">\n${chart.body}\n</g>`;
    x += chart.width;
    return placed;
  });
  return { width: x, height: Math.max(0, ...charts.map((c) => c.height)), body: body.join('\n') };
}

export function toSvg(chart: Chart): string {
  const { width, height } = chart;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${chart.body}\n</svg>\n`
  );
}
