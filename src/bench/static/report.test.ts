// The report renders: README.md holds the tables, report.html the same plus SVG plots, and headless
// Chromium draws it as a page that is not blank (Debian's `chromium`; required when CI is set).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyBench, tinyBenchConfig } from '../../../test/fixtures/tiny-bench.js';
import { validateBenchStaticConfig } from './config.js';
import { runStaticBench } from './pipeline.js';
import { barChartSvg } from './plots.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into pixels. */
function decodePng(buf: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8,
    width = 0,
    height = 0,
    channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off),
      type = buf.toString('latin1', off + 4, off + 8),
      data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9]!] ?? 0;
      if (!channels) throw new Error(`PNG colour type ${data[9]} not handled`);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat)),
    stride = width * channels,
    px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!,
      row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels]! : 0,
        b = y > 0 ? px[(y - 1) * stride + x]! : 0,
        c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels]! : 0;
      const pr = () => {
        const p = a + b - c,
          pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      };
      px[y * stride + x] = (row[x]! + [0, a, b, (a + b) >> 1, pr()][f]!) & 255;
    }
  }
  return { width, height, channels, pixels: px };
}

function chromium(): string | null {
  for (const c of ['chromium', 'chromium-browser']) if (spawnSync('which', [c]).status === 0) return c;
  return null;
}

describe('report', () => {
  const bench = makeTinyBench(join(root, 'bench'));
  const out = join(root, 'out');
  beforeAll(() =>
    runStaticBench({
      tasksDir: bench.tasksDir,
      out,
      modelDir: bench.modelDir,
      config: validateBenchStaticConfig(tinyBenchConfig(), 'test'),
      command: 'code2lora bench static (test)',
    }),
  );

  it('writes the Markdown table and an HTML page with three inline SVG plots', () => {
    const md = readFileSync(join(out, 'README.md'), 'utf8');
    expect(md).toMatch(/\| Pretrained \| \d+\.\d \[\d+\.\d, \d+\.\d\] \|/);
    expect(md).toContain('## Per repository');
    expect(md).toContain('RAG / adapter latency');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing fetched from the network
  });

  it('draws CI whiskers around each bar', () => {
    const svg = barChartSvg(
      [
        {
          label: 'CR',
          bars: [
            { label: 'a', value: 10, lo: 5, hi: 15 },
            { label: 'b', value: 20 },
          ],
        },
      ],
      { title: 't', yLabel: 'y' },
    );
    expect(svg.match(/<rect [^>]*fill="#/g)?.length).toBe(4); // two bars + two legend keys
    expect(svg.match(/stroke="#222"/g)?.length).toBe(3); // one whisker (stem + two caps)
  });

  it('renders in headless Chromium as a page that is not blank', () => {
    const bin = chromium();
    if (!bin) {
      if (process.env.CI) throw new Error('chromium is not installed (scripts/setup installs it); CI requires this test');
      console.warn('report test: chromium not installed, screenshot check skipped (set CI to make this an error)');
      return;
    }
    const shot = join(root, 'shot.png'),
      profile = mkdtempSync(join(tmpdir(), 'c2l-chromium-'));
    const r = spawnSync(
      bin,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--screenshot=${shot}`,
        '--window-size=1200,900',
        `file://${join(out, 'report.html')}`,
      ],
      { timeout: 60_000, encoding: 'utf8' },
    );
    rmSync(profile, { recursive: true, force: true });
    expect(existsSync(shot), `chromium exited ${r.status}: ${r.stderr?.slice(-500)}`).toBe(true);
    const png = decodePng(readFileSync(shot));
    expect([png.width, png.height]).toEqual([1200, 900]);
    // not blank: many pixels differ from white, and the plots' bar colours are there
    let dark = 0,
      blue = 0;
    for (let i = 0; i < png.pixels.length; i += png.channels) {
      const [r0, g0, b0] = [png.pixels[i]!, png.pixels[i + 1]!, png.pixels[i + 2]!];
      if (r0 + g0 + b0 < 600) dark++;
      if (Math.abs(r0 - 0x1f) < 12 && Math.abs(g0 - 0x77) < 12 && Math.abs(b0 - 0xb4) < 12) blue++;
    }
    expect(dark).toBeGreaterThan(5000);
    expect(blue).toBeGreaterThan(200);
  }, 90_000);
});
