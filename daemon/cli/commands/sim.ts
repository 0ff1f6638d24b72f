/**
 * `machpager sim TRACE`: replay a page trace through replacement policies
 * at given cache sizes, offline (no mount, no daemon), the way
 * cache-policies.md's reference harness does (kernel/policy/replay.ts):
 * one request at a time, a cache of exactly C pages, every request
 * counted. Prints requests, misses, the miss ratio and the replay's speed
 * per policy × size; `--mrc` a miss-ratio curve over a range of sizes, and
 * `--plot FILE.svg|FILE.png` draws it.
 */
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { allPolicyFactories, type PolicyFactory } from '../../../kernel/index.js';
import { CliError, errorCode, errorMessage, usageError } from '../cli-error.js';
import type { TraceFormat } from '../sim/trace-file.js';
import { jsonText, parseCount } from '../control-cli.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { DEFAULT_CURVE, MAX_CACHE_PAGES, ONE_PASS_POLICY, cachePages, choosePolicies, curveSizes, parseCacheList, parseCacheSpec, simulate, type CacheSpec, type CurveRange, type SimCell } from '../sim/plan.js';
import { checkPngFont, plotFormat, renderPng, renderSvg, type Curve } from '../sim/plot.js';
import { loadTrace, traceError, traceInput } from '../sim/trace-file.js';
import { DEFAULT_STREAM_SAMPLE_PAGES, parseSample, sampledCells, sampleNote, sampleTrace, expectedError, type SampleSpec } from '../sim/sampled.js';
import { FORMATS, traceFormat, type FormatOptions } from '../sim/format-options.js';
import { bytesCells, parseByteSpec, workingSetBytes } from '../sim/by-bytes.js';
import { startProgress } from '../progress.js';
import type { CliCommand, CommandContext } from './command.js';

interface SimOptions extends FormatOptions {
  policy?: string;
  byBytes?: boolean;
  sample?: string;
  samplePages?: string;
  cache?: string;
  json?: boolean;
  mrc?: boolean;
  mrcFrom?: string;
  mrcTo?: string;
  mrcPoints?: string;
  plot?: string;
}

/** The sizes of a plain run when --cache is not given: the reference table's columns. */
export const DEFAULT_CACHE = '1%,5%,10%,25%';

/** `text` broken into lines of at most 80 columns, at spaces (for the help's list of policies, which grows). */
function wrap(text: string, width = 80): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/** At most this many points on a curve: each is a replay per policy. */
const MAX_CURVE_POINTS = 1000;

const HELP_AFTER = `
TRACE is a file (or - for stdin) of page ids, one per line, or op,id lines
(r,42 w,42: the op is ignored, reads and writes count alike); blank lines and
lines starting with # are skipped. Any whole numbers below 2^53 are page ids.
--format oracleGeneral reads libCacheSim's binary records (24 bytes, little
endian: u32 timestamp, u64 object id, u32 size, i64 next access); --format csv
reads the columns --csv-columns names (time=1,id=2,size=3; an id that is no
whole number is hashed), with --csv-header and --csv-delimiter. Input that is
gzip or zstd compressed (.gz, .zst, or on stdin) is decompressed as it streams.
--by-bytes counts caches and objects in bytes, by the sizes the trace gives
(--cache 64M,1G or PERCENT% of the working set's bytes): LRU exact in one pass,
and fifo, clock, clock2, sieve, lruk, mach and belady replayed per size (a miss
evicts until the object fits); ARC, 2Q, LIRS, S3-FIFO and SLRU size their parts
in pages of the cache and are refused.

Each policy replays the whole trace once per cache size, one request at a time,
with a cache of exactly that many pages, as libCacheSim does: a hit is a request
for a page in the cache; a miss inserts the page, evicting while the cache is
full. Every request counts, cold misses too (no warm-up period).

Cache sizes: PAGES (a whole number) or PERCENT% of the trace's working set, its
distinct pages (WSS): C = floor(PERCENT/100 × WSS), as libCacheSim does; at
least 1 page, at most ${MAX_CACHE_PAGES} (2^26). A cache larger than the WSS is
allowed.

Columns: POLICY, CACHE (pages), %WSS, REQUESTS, MISSES, MISS RATIO (misses /
requests), REQ/S (requests replayed per second, the replay loop alone).
--json prints an array of {policy, cache_pages, requests, misses, miss_ratio,
requests_per_second} objects (requests_per_second null when too quick to time).

--mrc: the miss-ratio curve, one row per cache size, one column per policy:
--mrc-points sizes log-spaced from --mrc-from to --mrc-to (default 20 from 0.1%
to 100% of the WSS; each PAGES or PERCENT%), or the --cache sizes when given.
--plot FILE.svg or FILE.png draws it (and implies --mrc). LRU's curve comes
from one pass over the trace (Mattson's stack distances), exact at every size;
the other policies replay once per size.

--sample RATE reads the trace once as a stream and keeps only the requests of
a spatially hashed sample of its pages (hash(page) < RATE × 2^32): LRU's curve
comes from the sample's stack distances (SHARDS, Waldspurger et al., FAST
2015), each other policy's from a miniature simulation (Waldspurger et al.,
ATC 2017): the policy replayed on the sample with a cache of CACHE × RATE
pages. Memory follows the sample, not the trace. The output says the rate and
the expected error (about 1/sqrt(sampled pages), mean absolute); points whose
miniature cache is under 32 pages are rougher. --sample-pages N bounds the
sample (fixed-size SHARDS: the rate falls as it fills); stdin, whose length is
unknown, is bounded at 1048576 pages unless told. %WSS is of the estimated
working set (sampled pages / rate).

${wrap(`Policies (--policy, comma-separated; all, or none given, is every one): ${allPolicyFactories()
  .map((f) => f.name)
  .join(', ')}. Offline ones (they know the future) replay traces only.`)}

Exit codes: 0 ok; 2 a bad option (unknown policy, bad size, plot not .svg/.png);
65 a line that is not a page id (its number is given), or no requests;
66 the trace does not exist; 69 no font for a PNG's labels (write .svg);
73 the plot cannot be written; 74 a read error; 77 permission denied.

Examples:
  machpager sim trace.txt --policy lru,clock,sieve --cache 1%,10%,4096
  machpager sim trace.txt --json | jq '.[] | select(.policy == "lru")'
  machpager sim trace.txt --mrc --plot mrc.svg
  machpager sim trace.txt --mrc --mrc-from 100 --mrc-to 50% --mrc-points 30 --plot mrc.png
  zcat big.txt.gz | machpager sim - --policy arc --cache 5%
  machpager sim big.txt --mrc --sample 0.01 --policy lru,arc,s3fifo --plot big.svg
  machpager sim w01.oracleGeneral.zst --format oracleGeneral --mrc --plot w01.svg
  machpager sim reqs.csv.gz --format csv --csv-columns time=1,id=2,size=3 --csv-header --by-bytes --mrc
`;

/** The trace's name for titles: its file name, or stdin. */
function traceLabel(name: string): string {
  return name === '-' ? 'stdin' : path.basename(name);
}

/** A share of the working set: two decimals below 1% (the small end of a curve), one above. */
function wssPercent(pages: number, wss: number): string {
  const p = (100 * pages) / wss;
  return `${p < 1 ? p.toFixed(2) : p.toFixed(1)}%`;
}

/** Requests per second, short: 950, 12.3K, 4.56M. */
export function rate(perSecond: number | null): string {
  if (perSecond === null) return '-';
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)}G`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}K`;
  return String(Math.round(perSecond));
}

/** The table of a plain run: one row per policy × size. */
export function renderCells(cells: readonly SimCell[], wss: number): string[] {
  return table(
    ['POLICY', 'CACHE', '%WSS', 'REQUESTS', 'MISSES', 'MISS RATIO', 'REQ/S'],
    cells.map((c) => [c.policy, String(c.cache_pages), wssPercent(c.cache_pages, wss), String(c.requests), String(c.misses), c.miss_ratio.toFixed(4), rate(c.requests_per_second)]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
}

/** The miss-ratio curve as a table: one row per size, one miss-ratio column per policy. */
export function renderCurve(cells: readonly SimCell[], policies: readonly string[], sizes: readonly number[], wss: number): string[] {
  const ratio = new Map(cells.map((c) => [`${c.policy}\0${c.cache_pages}`, c.miss_ratio]));
  return table(
    ['CACHE', '%WSS', ...policies],
    sizes.map((size) => [String(size), wssPercent(size, wss), ...policies.map((p) => ratio.get(`${p}\0${size}`)?.toFixed(4) ?? '-')]),
    ['right', 'right', ...policies.map(() => 'right' as const)],
  );
}

/** The curves to plot: per policy, its points in size order. */
function curvesOf(cells: readonly SimCell[], policies: readonly string[]): Curve[] {
  return policies.map((name) => ({
    name,
    points: cells.filter((c) => c.policy === name).map((c) => ({ pages: c.cache_pages, missRatio: c.miss_ratio })),
  }));
}

/** The option's size, or the default's. */
function optionSize(text: string | undefined, fallback: CacheSpec, flag: string, parse: (text: string, what: string) => CacheSpec): CacheSpec {
  return text === undefined ? fallback : parse(text, `${flag} ${text}`);
}

/** A failure to write the plot as the CLI says it: 77 for permissions, 73 for a path that cannot be a file, else 74. */
function plotError(file: string, err: unknown): CliError {
  const code = errorCode(err);
  const exit = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? EXIT.NOPERM : code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' ? EXIT.CANTCREAT : EXIT.IOERR;
  const why =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? 'cannot create it: no such directory'
      : code === 'EISDIR'
        ? 'cannot create it: is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot create it: permission denied'
          : `cannot write it: ${errorMessage(err)}`;
  return new CliError(`--plot ${file}`, why, exit, { cause: err });
}

/** Before the replay (which may be long): the plot's directory exists and we may write in it, and FILE is no directory. */
async function checkPlotPath(file: string, cwd: string): Promise<void> {
  const full = path.resolve(cwd, file);
  try {
    const dir = await stat(path.dirname(full));
    if (!dir.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(path.dirname(full), constants.W_OK);
    const existing = await stat(full).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return undefined; // to be created: fine
      throw err;
    });
    if (existing?.isDirectory() === true) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (err) {
    throw plotError(file, err);
  }
}

async function writePlot(file: string, data: string | Buffer, cwd: string): Promise<void> {
  try {
    await writeFile(path.resolve(cwd, file), data);
  } catch (err) {
    throw plotError(file, err);
  }
}

interface Plan {
  readonly curve: boolean;
  readonly byBytes: boolean;
  readonly cache?: CacheSpec[];
  readonly range: CurveRange;
  readonly plot?: { readonly file: string; readonly format: 'svg' | 'png' };
}

/** Every option checked before the trace is read (a typo should not cost a long load). */
function plan(opts: SimOptions): Plan {
  const byBytes = opts.byBytes === true;
  const parseSize = byBytes ? parseByteSpec : parseCacheSpec;
  const ranged = opts.mrcFrom !== undefined || opts.mrcTo !== undefined || opts.mrcPoints !== undefined;
  if (ranged && opts.cache !== undefined) throw usageError(`--cache ${opts.cache}`, 'and --mrc-from/--mrc-to/--mrc-points both give the sizes; use one');
  let plot: Plan['plot'];
  if (opts.plot !== undefined) {
    const format = plotFormat(opts.plot);
    if (!format) throw usageError(`--plot ${opts.plot}`, 'writes FILE.svg or FILE.png (by the extension)');
    plot = { file: opts.plot, format };
  }
  const points = opts.mrcPoints === undefined ? DEFAULT_CURVE.points : parseCount(opts.mrcPoints, `--mrc-points ${opts.mrcPoints}`);
  if (points < 2 || points > MAX_CURVE_POINTS) throw usageError(`--mrc-points ${opts.mrcPoints ?? ''}`, `a curve takes 2 to ${MAX_CURVE_POINTS} points`);
  const list = (text: string): CacheSpec[] => {
    const parts = text.split(',');
    if (parts.some((part) => part.trim() === '')) throw usageError(`--cache ${text}`, 'an empty size in the list');
    return parts.map((part) => parseSize(part, `--cache ${text}`));
  };
  return {
    curve: opts.mrc === true || ranged || plot !== undefined,
    byBytes,
    ...(opts.cache !== undefined ? { cache: list(opts.cache) } : {}),
    range: { from: optionSize(opts.mrcFrom, DEFAULT_CURVE.from, '--mrc-from', parseSize), to: optionSize(opts.mrcTo, DEFAULT_CURVE.to, '--mrc-to', parseSize), points },
    ...(plot ? { plot } : {}),
  };
}

/** The cache sizes in pages (bytes with --by-bytes), once the trace's working set (`wss`, in the same unit) is known. */
function sizesFor(p: Plan, wss: number): number[] {
  const limit = p.byBytes ? Number.MAX_SAFE_INTEGER : MAX_CACHE_PAGES;
  const given = p.cache ?? (p.curve ? undefined : parseCacheList(DEFAULT_CACHE));
  if (given === undefined) return curveSizes(p.range, wss, limit);
  const sizes = given.map((spec) => cachePages(spec, wss, `--cache ${spec.text}`, limit));
  // A curve runs along the sizes; a plain run keeps them as given.
  return p.curve ? [...new Set(sizes)].sort((a, b) => a - b) : [...new Set(sizes)];
}

/**
 * --by-bytes runs LRU by default (one pass), and the policies whose choices
 * do not depend on their capacity (replay-bytes.ts); `all` means those.
 */
function policiesFor(opts: SimOptions): PolicyFactory[] {
  if (opts.byBytes !== true) return choosePolicies(opts.policy, allPolicyFactories());
  const all = opts.policy === undefined || opts.policy.trim().toLowerCase() === 'all';
  const policies = choosePolicies(opts.policy ?? ONE_PASS_POLICY, all && opts.policy !== undefined ? allPolicyFactories().filter((f) => f.byBytes === true) : allPolicyFactories());
  const refused = policies.filter((f) => f.byBytes !== true);
  if (refused.length > 0) throw usageError(`--policy ${opts.policy ?? ''}`, `--by-bytes cannot run ${refused.map((f) => f.name).join(', ')}: ${refused.length === 1 ? 'it sizes its parts' : 'they size their parts'} (ARC's target, 2Q's A1in, S3-FIFO's small queue, LIRS's stacks, SLRU's segments) in pages of the cache, so a cache in bytes would be another policy; by bytes: ${byBytesNames()}`);
  return policies;
}

function byBytesNames(): string {
  return allPolicyFactories().filter((f) => f.byBytes === true).map((f) => f.name).join(', ');
}

/** The results of a run, whichever way they were counted. */
interface Outcome {
  readonly cells: SimCell[];
  readonly sizes: number[];
  readonly wss: number;
  readonly requests: number;
  readonly distinct: number;
  /** How a sampled run was sampled (the output says it). */
  readonly note?: string;
  readonly sample?: { readonly rate: number; readonly expectedError: number };
}

/** The whole trace in memory, every request replayed. */
async function exactRun(traceName: string, p: Plan, format: TraceFormat, policies: readonly PolicyFactory[], ctx: CommandContext, stdin: () => AsyncIterable<Buffer | string>): Promise<Outcome> {
  const trace = await loadTrace(traceName, { cwd: ctx.deps.cwd, stdin }, format, p.byBytes);
  const wss = trace.sizes ? workingSetBytes(trace, trace.sizes) : trace.distinct;
  const sizes = sizesFor(p, wss);
  // A big trace takes a while per replay: a bar on a terminal (nothing in a pipe).
  const progress = startProgress(ctx.deps, 'replays', policies.length * sizes.length);
  try {
    const cells = trace.sizes ? bytesCells(trace, trace.sizes, policies, sizes, (done) => progress.update(done)) : simulate(trace, policies, sizes, (done) => progress.update(done), p.curve);
    return { cells, sizes, wss, requests: trace.ids.length, distinct: trace.distinct };
  } finally {
    progress.stop();
  }
}

/** One streamed pass over a spatially hashed sample (SHARDS, miniature simulations). */
async function sampledRun(traceName: string, p: Plan, spec: SampleSpec, format: TraceFormat, policies: readonly PolicyFactory[], ctx: CommandContext, stdin: () => AsyncIterable<Buffer | string>): Promise<Outcome> {
  const bounded = spec.maxPages === undefined && traceName === '-' ? { ...spec, maxPages: DEFAULT_STREAM_SAMPLE_PAGES } : spec;
  const size = traceName === '-' ? 0 : await stat(path.resolve(ctx.deps.cwd, traceName)).then((st) => (st.isFile() ? st.size : 0), () => 0);
  const progress = startProgress(ctx.deps, 'bytes read', size);
  let sample;
  try {
    sample = await sampleTrace(traceInput(traceName, { cwd: ctx.deps.cwd, stdin }), format, bounded, policies.some((f) => f.name !== ONE_PASS_POLICY), (bytes) => progress.update(bytes));
  } catch (err) {
    throw traceError(traceName, err);
  } finally {
    progress.stop();
  }
  if (sample.shards.requests === 0) throw new CliError(traceName === '-' ? 'trace on stdin' : `trace ${traceName}`, 'no requests in it (empty, or only blank lines and comments)', EXIT.DATAERR);
  if (sample.shards.sampled === 0) throw new CliError(`--sample ${spec.rate}`, `sampled no page of the trace's ${sample.shards.requests} requests: sample more`, EXIT.DATAERR);
  const wss = Math.max(1, Math.round(sample.shards.estimatedPages));
  const sizes = sizesFor(p, wss);
  const cells = sampledCells(sample, policies, sizes);
  const miniatures = policies.some((f) => f.name !== ONE_PASS_POLICY);
  return { cells, sizes, wss, requests: sample.shards.requests, distinct: wss, note: sampleNote(sample, sizes, miniatures), sample: { rate: sample.shards.rate, expectedError: expectedError(sample) } };
}

async function runSim(traceName: string, command: Command, ctx: CommandContext, stdin: () => AsyncIterable<Buffer | string>): Promise<void> {
  const opts = command.opts<SimOptions>();
  const policies = policiesFor(opts);
  const p = plan(opts);
  const format = traceFormat(opts);
  const spec = opts.sample !== undefined ? parseSample(opts.sample, opts.samplePages) : undefined;
  if (opts.samplePages !== undefined && spec === undefined) throw usageError(`--sample-pages ${opts.samplePages}`, 'goes with --sample RATE');
  if (spec && p.byBytes) throw usageError('--by-bytes', 'and --sample do not go together (a sample counts pages)');
  if (p.plot) await checkPlotPath(p.plot.file, ctx.deps.cwd);
  if (p.plot?.format === 'png') await checkPngFont(p.plot.file);
  const { cells, sizes, wss, requests, distinct, note, sample } = spec ? await sampledRun(traceName, p, spec, format, policies, ctx, stdin) : await exactRun(traceName, p, format, policies, ctx, stdin);
  const names = policies.map((f) => f.name);
  const label = traceLabel(traceName);
  const what = sample ? `${requests} requests, about ${distinct} distinct pages` : `${requests} requests, ${distinct} distinct pages${p.byBytes ? ` (${wss} bytes)` : ''}`;

  if (opts.json === true) {
    const rows = p.byBytes ? cells.map(({ cache_pages, ...rest }) => ({ ...rest, cache_bytes: cache_pages })) : sample ? cells.map((c) => ({ ...c, sample_rate: sample.rate, expected_error: sample.expectedError })) : cells;
    ctx.deps.stdout(jsonText(rows));
  } else {
    const lines = p.curve ? renderCurve(cells, names, sizes, wss) : renderCells(cells, wss);
    if (p.byBytes) lines[0] = (lines[0] ?? '').replace(/^CACHE|(?<= )CACHE/, 'BYTES');
    const heading = `${p.curve ? 'miss-ratio curve of ' : ''}${label}: ${what}`;
    ctx.deps.stdout(`${heading}\n${note !== undefined ? `${note}\n` : ''}${lines.join('\n')}\n`);
  }
  if (p.plot) {
    const input = { title: `miss-ratio curve: ${label} (${what}${sample ? `; sampled at ${+sample.rate.toPrecision(4)}` : ''})`, wss, curves: curvesOf(cells, names) };
    await writePlot(p.plot.file, p.plot.format === 'svg' ? renderSvg(input) : await renderPng(input), ctx.deps.cwd);
    ctx.log(`wrote ${p.plot.file}: ${names.length} ${names.length === 1 ? 'policy' : 'policies'} over ${sizes.length} cache sizes${p.byBytes ? ' (in bytes)' : ''}`);
  }
}

/** The command, reading `-` from `stdin` (process.stdin in the executable). */
export function createSimCommand(stdin: () => AsyncIterable<Buffer | string> = () => process.stdin): CliCommand {
  return {
    name: 'sim',
    register(program, ctx) {
      program
        .command('sim')
        .summary('replay a page trace through replacement policies: misses, miss-ratio curves')
        .description('Replay the page trace TRACE through each policy at each cache size, offline (no mount needed), and print the misses.')
        .usage('[options] TRACE')
        .argument('<TRACE>', 'page ids, one per line (or op,id); - reads stdin')
        .addOption(new Option('-p, --policy <names>', 'policies, comma-separated, or all (default: all)'))
        .addOption(new Option('-c, --cache <sizes>', `cache sizes, comma-separated: PAGES or PERCENT% of the trace's distinct pages (default: ${DEFAULT_CACHE})`))
        .addOption(new Option('--mrc', 'print the miss-ratio curve: miss ratio per policy over a range of cache sizes'))
        .addOption(new Option('--mrc-from <size>', `the curve's smallest cache, PAGES or PERCENT% (default: ${DEFAULT_CURVE.from.text})`))
        .addOption(new Option('--mrc-to <size>', `the curve's largest cache (default: ${DEFAULT_CURVE.to.text})`))
        .addOption(new Option('--mrc-points <n>', `cache sizes on the curve, log-spaced (default: ${DEFAULT_CURVE.points})`))
        .addOption(new Option('--plot <file>', 'draw the miss-ratio curve into FILE.svg or FILE.png (implies --mrc)'))
        .addOption(new Option('--format <format>', 'how TRACE is written (default: text; gzip and zstd input is decompressed as it is read)').choices([...FORMATS]))
        .addOption(new Option('--csv-columns <columns>', 'with --format csv: which column holds what, from 1: time=1,id=2,size=3 (id is required)'))
        .addOption(new Option('--csv-header', 'with --format csv: the first line names the columns (skipped)'))
        .addOption(new Option('--csv-delimiter <char>', 'with --format csv: the field separator (default: ,; tab for tabs)'))
        .addOption(new Option('--by-bytes', 'count caches and objects in bytes (the trace\'s sizes; LRU and the policies that do not size their parts by the cache): --cache 64M,1G or PERCENT% of the working set\'s bytes'))
        .addOption(new Option('--sample <rate>', 'replay a spatially hashed sample of the pages (0.01 or 1%): SHARDS for LRU, miniature simulations for the others; one streamed pass'))
        .addOption(new Option('--sample-pages <n>', 'with --sample: at most N sampled pages (fixed-size SHARDS: the rate falls as the sample fills; stdin gets 1048576)'))
        .addOption(new Option('--json', 'print the results as a JSON array, one object per policy × cache size'))
        .addHelpText('after', HELP_AFTER)
        .action(async (traceName: string, _opts: SimOptions, command: Command) => {
          await runSim(traceName, command, ctx, stdin);
        });
    },
  };
}

export const simCommand: CliCommand = createSimCommand();
