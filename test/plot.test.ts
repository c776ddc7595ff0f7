// SVG line plots: well-formed XML with no NaN/Infinity for any input (checked by a small XML
// tokenizer below), points in the frame, log-axis skipping and decade ticks, nice linear ticks,
// escaping, palette, determinism, option and length errors.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoopgradError } from '../src/errors';
import { linePlot, linePlotEither, plotPalette, type PlotOptions, type PlotSeries } from '../src/plot';

// ---------------------------------------------------------------------------------------------
// a well-formedness check for the XML subset linePlot writes (elements, attributes, text,
// the five predefined entities; no comments, CDATA or processing instructions)

interface Element { readonly name: string; readonly attrs: Readonly<Record<string, string>>; readonly text: string }

const forbiddenChar = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const entityOk = (s: string): boolean => !/&(?!(?:amp|lt|gt|quot|apos);)/.test(s);
const unescape = (s: string): string =>
  s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);

/** Parses `svg` or throws naming the first problem; returns every element with its own text. */
const parseXml = (svg: string): Element[] => {
  if (forbiddenChar.test(svg)) throw new Error('a character XML forbids');
  const elements: Element[] = [];
  const stack: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  let m: RegExpExecArray | null, closedRoot = false;
  while ((m = token.exec(svg)) !== null) {
    const [, close, name, attrText, selfClose, text, stray] = m;
    if (stray !== undefined) throw new Error(`a stray '<' at ${m.index}: ${svg.slice(m.index, m.index + 40)}`);
    if (text !== undefined) {
      if (!entityOk(text)) throw new Error(`a bare '&' in text: ${text}`);
      if (stack.length === 0 ? text.trim() !== '' : false) throw new Error(`text outside the root: ${text}`);
      if (stack.length > 0) stack[stack.length - 1]!.text += unescape(text);
      continue;
    }
    if (closedRoot) throw new Error('content after the root element');
    if (close) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      elements.push(open);
      if (stack.length === 0) closedRoot = true;
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const [, k, v] of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (k! in attrs) throw new Error(`attribute ${k} twice on <${name}>`);
      if (!entityOk(v!)) throw new Error(`a bare '&' in ${k}="${v}"`);
      attrs[k!] = unescape(v!);
    }
    if (stack.length === 0 && elements.length > 0) throw new Error('two root elements');
    if (selfClose) {
      elements.push({ name: name!, attrs, text: '' });
      if (stack.length === 0) closedRoot = true;
    } else stack.push({ name: name!, attrs, text: '' });
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (!closedRoot) throw new Error('no root element');
  return elements;
};

const numberAttrs = ['x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'width', 'height'];
const plainNumber = /^-?\d+(\.\d+)?$/;

/** Every coordinate is a plain finite number inside the canvas. */
const checkCoordinates = (els: readonly Element[], W: number, H: number): void => {
  const inside = (v: string, max: number): void => {
    expect(v).toMatch(plainNumber);
    expect(Number(v)).toBeGreaterThanOrEqual(0);
    expect(Number(v)).toBeLessThanOrEqual(max);
  };
  for (const el of els) {
    for (const k of numberAttrs) if (k in el.attrs) inside(el.attrs[k]!, /^(x|x1|x2|cx|width)$/.test(k) ? W : H);
    if (el.name === 'polyline') {
      for (const pair of el.attrs.points!.split(' ')) {
        const [x, y] = pair.split(',');
        inside(x!, W), inside(y!, H);
      }
    }
  }
};

/** The frame (the axes path `M x0 y0 V y1 H x1`) has room, and every curve point lies in it. */
const checkFrame = (els: readonly Element[]): void => {
  const [x0, y0, y1, x1] = els.find((e) => e.name === 'path')!.attrs.d!.match(/^M(\S+) (\S+)V(\S+)H(\S+)$/)!.slice(1).map(Number) as [number, number, number, number];
  expect(x1 - x0).toBeGreaterThan(10);
  expect(y1 - y0).toBeGreaterThan(40);
  const inFrame = (x: number, y: number): void => {
    expect(x).toBeGreaterThanOrEqual(x0), expect(x).toBeLessThanOrEqual(x1);
    expect(y).toBeGreaterThanOrEqual(y0), expect(y).toBeLessThanOrEqual(y1);
  };
  for (const el of els) {
    if (el.name === 'circle') inFrame(Number(el.attrs.cx), Number(el.attrs.cy));
    if (el.name === 'polyline') for (const pair of el.attrs.points!.split(' ')) inFrame(...(pair.split(',').map(Number) as [number, number]));
  }
};

const texts = (els: readonly Element[]): string[] => els.filter((e) => e.name === 'text').map((e) => e.text);

// ---------------------------------------------------------------------------------------------

const anyNumber = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE));
/** Any UTF-16 string, lone surrogates and control characters included (but not the words looked for). */
const anyText = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(...[...'&<>"\'NaIfinty;'].map((c) => c.charCodeAt(0)))), { maxLength: 12 })
  .map((cs) => String.fromCharCode(...cs))
  .filter((s) => !/NaN|Infinity/.test(s));
const seriesArb: fc.Arbitrary<PlotSeries> = fc
  .record({ name: anyText, values: fc.array(anyNumber, { maxLength: 40 }), withX: fc.boolean(), xs: fc.array(anyNumber, { minLength: 40, maxLength: 40 }) })
  .map(({ name, values, withX, xs }) => (withX ? { name, values, x: xs.slice(0, values.length) } : { name, values }));
const optionsArb: fc.Arbitrary<PlotOptions> = fc.record(
  { title: anyText, xLabel: anyText, yLabel: anyText, logY: fc.boolean(), width: fc.integer({ min: 320, max: 1200 }), height: fc.integer({ min: 160, max: 800 }) },
  { requiredKeys: [] },
);

describe('the well-formedness check itself', () => {
  it('rejects unbalanced tags, repeated attributes, bare ampersands and forbidden characters', () => {
    expect(parseXml('<svg a="1"><g/><text>a &amp; b</text></svg>')).toHaveLength(3);
    for (const bad of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>a & b</svg>', '<svg>\u0001</svg>', '<svg/><svg/>', '<svg>a < b</svg>', '<svg x="<"/>']) {
      expect(() => parseXml(bad), bad).toThrow();
    }
  });
});

describe('linePlot', () => {
  it('is well-formed XML without NaN or Infinity, with every point on the canvas and in the frame, for any input', () => {
    fc.assert(
      fc.property(fc.array(seriesArb, { maxLength: 10 }), optionsArb, (series, options) => {
        const svg = linePlot(series, options);
        const els = parseXml(svg);
        expect(svg).not.toMatch(/NaN|Infinity/);
        checkCoordinates(els, options.width ?? 640, options.height ?? 360);
        checkFrame(els);
        expect(linePlot(series, options)).toBe(svg); // deterministic
      }),
      { numRuns: 300 },
    );
  });

  it('has a 640 × 360 default size, the title, axis labels and one legend row per series', () => {
    const els = parseXml(linePlot([{ name: 'tanh', values: [1, 2] }, { name: 'lstm', values: [2, 1] }], { title: 'flow', xLabel: 't', yLabel: 'norm' }));
    expect(els.at(-1)!.attrs).toMatchObject({ width: '640', height: '360', viewBox: '0 0 640 360' });
    expect(texts(els)).toEqual(expect.arrayContaining(['flow', 't', 'norm', 'tanh', 'lstm']));
    expect(els.at(-1)!.attrs['aria-label']).toBe('flow');
  });

  it('escapes XML special characters and drops characters XML forbids', () => {
    const svg = linePlot([{ name: 'a<b & "c" \'d\'\u0001\uD800', values: [1, 2] }], { title: '</svg><script>' });
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot; &apos;d&apos;\uFFFD\uFFFD');
    expect(svg).toContain('&lt;/svg&gt;&lt;script&gt;');
    expect(texts(parseXml(svg))).toContain('a<b & "c" \'d\'\uFFFD\uFFFD');
  });

  it('on a log axis skips values ≤ 0 and non-finite ones, breaking the line, and says how many', () => {
    const els = parseXml(linePlot([{ name: 's', values: [1, 0, -1, NaN, 2, 3, Infinity, 4, 5, 6] }], { logY: true }));
    expect(els.filter((e) => e.name === 'circle')).toHaveLength(1); // the lone 1
    expect(els.filter((e) => e.name === 'polyline').map((e) => e.attrs.points!.split(' ').length)).toEqual([2, 3]);
    expect(texts(els)).toContain('4 of 10 points not drawn');
    // the same values on a linear axis: only NaN and Infinity are skipped
    const lin = parseXml(linePlot([{ name: 's', values: [1, 0, -1, NaN, 2, 3, Infinity, 4, 5, 6] }]));
    expect(lin.filter((e) => e.name === 'polyline').map((e) => e.attrs.points!.split(' ').length)).toEqual([3, 2, 3]);
    expect(texts(lin)).toContain('2 of 10 points not drawn');
  });

  it('labels the decades of a log axis 1e-8 … 1, and thins them over many decades', () => {
    const values = Array.from({ length: 9 }, (_, i) => 10 ** (i - 8));
    const labels = texts(parseXml(linePlot([{ name: 'g', values }], { logY: true })));
    expect(labels).toEqual(expect.arrayContaining(['1e-8', '1e-7', '1e-4', '1e-1', '1']));
    expect(labels.filter((l) => /^1(e-\d+)?$/.test(l))).toHaveLength(9);
    const wide = texts(parseXml(linePlot([{ name: 'g', values: [1e-300, 1e10] }], { logY: true })));
    const decades = wide.filter((l) => /^1(e-?\d+)?$/.test(l));
    expect(decades.length).toBeLessThanOrEqual(9);
    expect(decades).toEqual(expect.arrayContaining(['1e-300', '1']));
  });

  it('puts linear ticks at nice numbers around the data', () => {
    const yLabels = (lo: number, hi: number): string[] => {
      const els = parseXml(linePlot([{ name: 'v', values: [lo, hi] }]));
      return els.filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'end').map((e) => e.text);
    };
    expect(yLabels(0.13, 0.87)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(yLabels(-3, 47)).toEqual(['-10', '0', '10', '20', '30', '40', '50']);
    expect(yLabels(2e-7, 9e-7)).toEqual(['2.0e-7', '4.0e-7', '6.0e-7', '8.0e-7', '1.0e-6']);
    expect(yLabels(0, 3.2e6)).toEqual(['0', '1e6', '2e6', '3e6', '4e6']);
    expect(yLabels(5, 5)).toEqual(['4.0', '4.5', '5.0', '5.5', '6.0']); // a constant is centred
  });

  it('gives time steps integer ticks and series distinct colours, then dashes past the palette', () => {
    const els = parseXml(linePlot([{ name: 'a', values: [1, 2, 3] }]));
    const xLabels = els.filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'middle').map((e) => e.text);
    expect(xLabels).toEqual(['0', '1', '2']);
    const many = parseXml(linePlot(Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, values: [i, i + 1] })), { height: 600 }));
    const styles = many.filter((e) => e.name === 'g' && e.attrs['stroke-width'] === '1.75').map((e) => `${e.attrs.stroke} ${e.attrs['stroke-dasharray'] ?? ''}`);
    expect(new Set(styles).size).toBe(10);
    expect(styles.slice(0, 8).map((s) => s.trim())).toEqual([...plotPalette]);
  });

  it('draws an empty plot, and data at the ends of the double range, without garbage', () => {
    for (const svg of [
      linePlot([]),
      linePlot([{ name: 'nothing', values: [] }], { logY: true }),
      linePlot([{ name: 'huge', values: [-Number.MAX_VALUE, Number.MAX_VALUE] }]),
      linePlot([{ name: 'tiny', values: [Number.MIN_VALUE, 2 * Number.MIN_VALUE] }], { logY: true }),
      linePlot([{ name: 'tiny', values: [0, Number.MIN_VALUE] }]),
    ]) {
      checkCoordinates(parseXml(svg), 640, 360);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
    expect(linePlot([])).toContain('no data to draw');
  });

  it('rejects a size too small and an x of the wrong length, as values or by throwing', () => {
    const bad = linePlotEither([{ name: 'a', values: [1, 2], x: [0] }], { width: 50, height: NaN });
    expect(E.isLeft(bad) && bad.left.map((i) => [i._tag, i.path.join(' › ')])).toEqual([
      ['OptionError', 'linePlot › options › width'],
      ['OptionError', 'linePlot › options › height'],
      ['InputError', 'linePlot › series 0 (a) › x'],
    ]);
    expect(() => linePlot([{ name: 'a', values: [1, 2], x: [0] }])).toThrow(LoopgradError);
    expect(() => linePlot([{ name: 'a', values: [1, 2], x: [0] }])).toThrow('x has 1 entries but values has 2');
  });
});
