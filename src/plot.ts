/**
 * Line plots as SVG text: a pure, dependency-free renderer for gradient-flow and loss curves.
 *
 * ```ts
 * const svg = linePlot(
 *   [{ name: 'tanh', values: flowTanh }, { name: 'lstm', values: flowLstm }],
 *   { title: 'gradient flow', xLabel: 't', yLabel: '‖∂E_T/∂h_t‖', logY: true },
 * );
 * ```
 * The result is a complete `<svg>` document (default 640 × 360) that a browser shows inline or a
 * file viewer opens. It is deterministic (the same input gives the same string), carries no `id`
 * (several plots can share a page) and never contains `NaN` or `Infinity`: a point whose value
 * is non-finite, or ≤ 0 on a log axis, or whose x is non-finite, is not drawn; the line breaks
 * there, and the legend says how many points of that series were not drawn. Colours are the
 * Okabe–Ito palette (distinguishable with the common colour-vision deficiencies); past eight
 * series they repeat with a dash pattern.
 */
import * as E from 'fp-ts/Either';
import { getOrThrow, issue, type LoopgradIssue } from './errors';

/** One curve: `values[i]` at `x[i]` (default `i`). @since 0.1.0 @category model */
export interface PlotSeries {
  readonly name: string;
  readonly values: ArrayLike<number>;
  /** The abscissae, as long as `values`; default 0, 1, 2, … */
  readonly x?: ArrayLike<number>;
}

/** Options of {@link linePlot}. @since 0.1.0 @category model */
export interface PlotOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** A log₁₀ y axis with ticks at the decades (default false, a linear axis with "nice" ticks). */
  readonly logY?: boolean;
  /** In pixels; default 640, at least 320. */
  readonly width?: number;
  /** In pixels; default 360, at least 160. */
  readonly height?: number;
}

/**
 * The series colours in order: Okabe & Ito's colour-blind-safe palette, yellow last (it is
 * faint on white).
 * @since 0.1.0
 * @category constants
 */
export const plotPalette: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const dashes: readonly string[] = ['', '6 3', '2 2', '8 3 2 3'];
const MAX = Number.MAX_VALUE;

// ---------------------------------------------------------------------------------------------
// text

/** Characters XML 1.0 forbids (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/F). */
const forbidden = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const entities: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe in XML content and in attribute values; forbidden characters become U+FFFD. */
const escapeXml = (s: string): string => s.replace(forbidden, '\uFFFD').replace(/[&<>"']/g, (c) => entities[c]!);

/** Rough width of sans-serif text at a font size, for layout (no font metrics in a pure function). */
const textWidth = (s: string, size: number): number => Array.from(s).length * size * 0.58;

/** At most `chars` code points, with an ellipsis when cut. */
const clip = (s: string, chars: number): string => {
  const cps = Array.from(s);
  return cps.length <= chars ? s : cps.slice(0, Math.max(1, chars - 1)).join('') + '…';
};

/** A pixel coordinate: two decimals, no `-0`. */
const px = (v: number): string => String(Math.round(v * 100) / 100 || 0);

// ---------------------------------------------------------------------------------------------
// scales

interface Tick { readonly pos: number; readonly label: string }
interface Scale {
  /** Position in [0, 1] of a drawable value. */
  readonly map: (v: number) => number;
  readonly ticks: readonly Tick[];
  /** Positions of unlabelled minor ticks (log axes over few decades). */
  readonly minor: readonly number[];
}

/** Tick label for k · step: fixed decimals for ordinary magnitudes, `1.5e-7` style otherwise. */
const tickLabel = (value: number, step: number, maxAbs: number): string => {
  const v = Math.abs(value) < step * 1e-6 ? 0 : value;
  const e = Math.floor(Math.log10(step) + 1e-9);
  if (maxAbs >= 1e6 || step < 1e-4) {
    if (v === 0) return '0';
    const digits = Math.min(15, Math.max(0, Math.floor(Math.log10(maxAbs) + 1e-9) - e));
    return v.toExponential(digits).replace('e+', 'e');
  }
  return v.toFixed(Math.min(20, Math.max(0, -e)));
};

/**
 * A linear scale over [min, max] with about `target` ticks at 1, 2 or 5 × 10^k. Spans are
 * computed as halves (hi/2 − lo/2) so that data near ±Number.MAX_VALUE cannot overflow; a span
 * too small to label (below 1e-12 relative) is drawn as a constant, centred.
 */
const linearScale = (min: number, max: number, target: number, extend: boolean, integers: boolean): Scale => {
  let lo = min, hi = max;
  if (!(hi / 2 - lo / 2 > Math.max(Math.max(Math.abs(lo), Math.abs(hi)) * 1e-12, 1e-300))) {
    const mid = lo / 2 + hi / 2;
    const d = Math.abs(mid) > 1e-290 ? Math.abs(mid) / 8 : 1;
    lo = Math.max(mid - d, -MAX);
    hi = Math.min(mid + d, MAX);
  }
  const raw = (hi / 2 - lo / 2) / (target / 2);
  const base = 10 ** Math.floor(Math.log10(raw));
  const f = raw / base;
  let step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * base;
  if (integers) step = Math.max(step, 1);
  // y: out to the ticks around the data; x: only by a sliver (0…99 becomes 0…100)
  const nlo = Math.floor(lo / step + 1e-9) * step, nhi = Math.ceil(hi / step - 1e-9) * step;
  const slack = extend ? Infinity : (hi / 2 - lo / 2) / 10;
  if (Number.isFinite(nlo) && lo / 2 - nlo / 2 <= slack) lo = nlo;
  if (Number.isFinite(nhi) && nhi / 2 - hi / 2 <= slack) hi = nhi;
  const half = hi / 2 - lo / 2;
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9) && values.length < 50; k++) values.push(k * step);
  const maxAbs = Math.max(...values.map(Math.abs), 0);
  return {
    map: (v) => (v / 2 - lo / 2) / half,
    ticks: values.map((v) => ({ pos: (v / 2 - lo / 2) / half, label: tickLabel(v, step, maxAbs) })),
    minor: [],
  };
};

/** A log₁₀ scale from the decade below `min` to the decade above `max`, labelled `1e-8` … */
const logScale = (min: number, max: number): Scale => {
  let lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const decades = hi - lo;
  const every = [1, 2, 3, 5, 10, 20, 30, 50, 100, 200].find((c) => decades / c <= 8) ?? 200;
  const pos = (l: number): number => (l - lo) / decades;
  const ticks: Tick[] = [];
  for (let k = lo; k <= hi; k++) if (k % every === 0) ticks.push({ pos: pos(k), label: k === 0 ? '1' : `1e${k}` });
  const minor: number[] = [];
  if (decades <= 6) for (let k = lo; k < hi; k++) for (let m = 2; m <= 9; m++) minor.push(pos(k + Math.log10(m)));
  return { map: (v) => pos(Math.log10(v)), ticks, minor };
};

// ---------------------------------------------------------------------------------------------
// the plot

interface Prepared {
  readonly name: string;
  /** Runs of consecutive drawable points, in data coordinates. */
  readonly runs: readonly (readonly (readonly [number, number])[])[];
  readonly total: number;
  readonly drawn: number;
}

const prepare = (s: PlotSeries, logY: boolean): Prepared => {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  for (let i = 0; i < s.values.length; i++) {
    const x = s.x === undefined ? i : s.x[i]!, y = s.values[i]!;
    if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) run.push([x, y]);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return { name: s.name, runs, total: s.values.length, drawn: runs.reduce((n, r) => n + r.length, 0) };
};

const validate = (series: readonly PlotSeries[], options: PlotOptions): readonly LoopgradIssue[] => {
  const size = (key: 'width' | 'height', least: number): LoopgradIssue[] => {
    const v = options[key];
    return v === undefined || (Number.isFinite(v) && v >= least)
      ? []
      : [issue('OptionError', ['linePlot', 'options', key], `${key} is ${String(v)} but must be a finite number ≥ ${least}`)];
  };
  return [
    ...size('width', 320),
    ...size('height', 160),
    ...series.flatMap((s, i) =>
      s.x !== undefined && s.x.length !== s.values.length
        ? [issue('InputError', ['linePlot', `series ${i} (${s.name})`, 'x'], `x has ${s.x.length} entries but values has ${s.values.length}`)]
        : [],
    ),
  ];
};

/**
 * Renders line plots as an SVG document; a wrong size option, or an `x` whose length differs
 * from its `values`, is an error value.
 * @since 0.1.0
 * @category destructors
 */
export const linePlotEither = (
  series: readonly PlotSeries[],
  options: PlotOptions = {},
): E.Either<readonly LoopgradIssue[], string> => {
  const issues = validate(series, options);
  if (issues.length > 0) return E.left(issues);
  const W = options.width ?? 640, H = options.height ?? 360, logY = options.logY === true;
  const font = 11, small = 10, rowH = 16, noteH = 12;
  const data = series.map((s) => prepare(s, logY));

  // data ranges over the drawable points of every series
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity, integers = true;
  for (const p of data) for (const run of p.runs) for (const [x, y] of run) {
    xMin = Math.min(xMin, x), xMax = Math.max(xMax, x), yMin = Math.min(yMin, y), yMax = Math.max(yMax, y);
    integers &&= Number.isInteger(x);
  }
  const empty = xMin > xMax;
  const xs = empty ? linearScale(0, 1, 6, false, false) : linearScale(xMin, xMax, 6, false, integers);
  const ys = empty ? (logY ? logScale(1, 10) : linearScale(0, 1, 5, true, false)) : logY ? logScale(yMin, yMax) : linearScale(yMin, yMax, 5, true, false);

  // layout: title on top, legend on the right, tick labels and axis labels left and below
  // the plot keeps at least 45% of the width; the legend takes at most 30%, longer names are cut
  const tickW = Math.max(...ys.ticks.map((t) => textWidth(t.label, font)), 0);
  const x0 = 10 + (options.yLabel ? 18 : 0) + tickW + 8;
  const legendText = Math.max(24, Math.min(W * 0.3, W - x0 - W * 0.45 - 50));
  const nameChars = Math.floor(legendText / (font * 0.58)), noteChars = Math.floor(legendText / (small * 0.58));
  const names = data.map((p) => clip(p.name, nameChars));
  const notes = data.map((p) => {
    const long = `${p.total - p.drawn} of ${p.total} points not drawn`;
    return p.total === 0 ? 'no data' : p.drawn === p.total ? '' : clip(long.length <= noteChars ? long : `${p.total - p.drawn}/${p.total} not drawn`, noteChars);
  });
  const legendW = data.length === 0 ? 0 : 30 + Math.max(...names.map((n) => textWidth(n, font)), ...notes.map((n) => textWidth(n, small)));
  const x1 = W - (legendW > 0 ? legendW + 20 : 14);
  const y0 = options.title ? 34 : 14, y1 = H - 26 - (options.xLabel ? 18 : 0);
  const X = (v: number): number => x0 + Math.min(1, Math.max(0, xs.map(v))) * (x1 - x0);
  const Y = (v: number): number => y1 - Math.min(1, Math.max(0, ys.map(v))) * (y1 - y0);

  const out: string[] = [];
  const label = options.title ?? 'line plot';
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${px(W)}" height="${px(H)}" viewBox="0 0 ${px(W)} ${px(H)}" font-family="Helvetica, Arial, sans-serif" font-size="${font}" role="img" aria-label="${escapeXml(label)}">`);
  out.push(`<rect x="0" y="0" width="${px(W)}" height="${px(H)}" fill="#ffffff"/>`);
  if (options.title) out.push(`<text x="${px((x0 + x1) / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`);

  // grid, ticks and axes
  const grid: string[] = [], marks: string[] = [], labels: string[] = [];
  for (const t of ys.ticks) {
    const y = px(y1 - t.pos * (y1 - y0));
    grid.push(`<line x1="${px(x0)}" y1="${y}" x2="${px(x1)}" y2="${y}"/>`);
    marks.push(`<line x1="${px(x0 - 4)}" y1="${y}" x2="${px(x0)}" y2="${y}"/>`);
    labels.push(`<text x="${px(x0 - 6)}" y="${px(y1 - t.pos * (y1 - y0) + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`);
  }
  for (const m of ys.minor) marks.push(`<line x1="${px(x0 - 3)}" y1="${px(y1 - m * (y1 - y0))}" x2="${px(x0)}" y2="${px(y1 - m * (y1 - y0))}"/>`);
  for (const t of xs.ticks) {
    const x = px(x0 + t.pos * (x1 - x0));
    grid.push(`<line x1="${x}" y1="${px(y0)}" x2="${x}" y2="${px(y1)}"/>`);
    marks.push(`<line x1="${x}" y1="${px(y1)}" x2="${x}" y2="${px(y1 + 4)}"/>`);
    labels.push(`<text x="${x}" y="${px(y1 + 16)}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  out.push(`<g stroke="#e8e8e8" stroke-width="1">${grid.join('')}</g>`, `<g fill="#333333">${labels.join('')}</g>`);
  out.push(`<g stroke="#333333" stroke-width="1">${marks.join('')}<path d="M${px(x0)} ${px(y0)}V${px(y1)}H${px(x1)}" fill="none"/></g>`);
  if (options.xLabel) out.push(`<text x="${px((x0 + x1) / 2)}" y="${px(H - 10)}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) {
    const cy = px((y0 + y1) / 2);
    out.push(`<text x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${escapeXml(options.yLabel)}</text>`);
  }
  if (empty) out.push(`<text x="${px((x0 + x1) / 2)}" y="${px((y0 + y1) / 2)}" text-anchor="middle" fill="#777777">no data to draw</text>`);

  // the curves; an isolated point (a run of one) is a dot, since a one-point line is invisible
  const style = (i: number): string => {
    const dash = dashes[Math.floor(i / plotPalette.length) % dashes.length]!;
    return `stroke="${plotPalette[i % plotPalette.length]!}"${dash ? ` stroke-dasharray="${dash}"` : ''}`;
  };
  data.forEach((p, i) => {
    const parts = p.runs.map((run) =>
      run.length === 1
        ? `<circle cx="${px(X(run[0]![0]))}" cy="${px(Y(run[0]![1]))}" r="2" fill="${plotPalette[i % plotPalette.length]!}" stroke="none"/>`
        : `<polyline points="${run.map(([x, y]) => `${px(X(x))},${px(Y(y))}`).join(' ')}"/>`,
    );
    if (parts.length > 0) out.push(`<g fill="none" stroke-width="1.75" stroke-linejoin="round" ${style(i)}>${parts.join('')}</g>`);
  });

  // the legend: one row per series (plus a grey note when points were not drawn), while it fits
  let ly = y0 + 4;
  const lx = x1 + 14;
  for (let i = 0; i < data.length; i++) {
    const h = rowH + (notes[i] ? noteH : 0);
    if (ly + h > y1 && i < data.length - 1) {
      out.push(`<text x="${px(lx)}" y="${px(ly + 10)}" fill="#555555">+ ${data.length - i} more</text>`);
      break;
    }
    out.push(`<g ${style(i)} stroke-width="2.5"><line x1="${px(lx)}" y1="${px(ly + 6)}" x2="${px(lx + 22)}" y2="${px(ly + 6)}"/></g>`);
    out.push(`<text x="${px(lx + 28)}" y="${px(ly + 10)}">${escapeXml(names[i]!)}</text>`);
    if (notes[i]) out.push(`<text x="${px(lx + 28)}" y="${px(ly + 10 + noteH)}" font-size="${small}" fill="#666666">${escapeXml(notes[i]!)}</text>`);
    ly += h;
  }
  out.push('</svg>');
  return E.right(out.join('\n') + '\n');
};

/**
 * Renders line plots as an SVG document (a string). Throws a `LoopgradError` on a wrong size
 * option or an `x` whose length differs from its `values`; {@link linePlotEither} returns it.
 * @since 0.1.0
 * @category destructors
 */
export const linePlot = (series: readonly PlotSeries[], options: PlotOptions = {}): string =>
  getOrThrow(linePlotEither(series, options));
