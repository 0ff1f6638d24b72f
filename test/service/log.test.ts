/**
 * The daemon log: its options (--log-level, --log-format, -o, the
 * environment; a bad value is one usage line), its two formats and its
 * levels; and the change lines: a control request that changes the mount
 * (policy, cache size, evict, sync, trace) writes one info line with the old
 * and new values and the caller, here through a real control socket over a
 * MachFilesystem in this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveMountPlan } from '../../daemon/cli/mount-plan.js';
import { MountControl } from '../../daemon/control/mount-control.js';
import { ControlServer } from '../../daemon/control/server.js';
import { createDaemonLog, type DaemonLog } from '../../daemon/service/log.js';
import { LOG_LEVELS, parseLogFormat, parseLogLevel } from '../../daemon/service/log-options.js';
import { logChange } from '../../daemon/service/serve.js';
import { removeTemp, runInProcess, tempDir } from '../cli/harness.js';
import { exchange } from '../control/exchange.js';
import { openInProcessFs, type InProcessFs } from '../helpers/in-process-fs.js';
import { given, mountInput } from '../helpers/mount-input.js';

const ctx = { cwd: '/tmp', env: {}, uid: 1000, homedir: '/home/u' };

/** A log into an array of lines. */
function logTo(format: 'text' | 'json', level: Parameters<typeof createDaemonLog>[0]['level'] = 'info', text: 'plain' | 'stamped' = 'plain'): { log: DaemonLog; lines: string[] } {
  const lines: string[] = [];
  const log = createDaemonLog({ level, format, text, write: (t) => lines.push(...t.split('\n').filter((l) => l !== '')) });
  return { log, lines };
}

describe('log options', () => {
  it('levels and formats, any case, syslog spellings; anything else refused with the list', () => {
    expect(LOG_LEVELS.map(parseLogLevel)).toEqual(['trace', 'debug', 'info', 'warn', 'error', 'silent']);
    expect(['WARN', 'warning', 'err', 'none', 'off'].map(parseLogLevel)).toEqual(['warn', 'warn', 'error', 'silent', 'silent']);
    expect(() => parseLogLevel('loud')).toThrow('not a log level (one of trace, debug, info, warn, error, silent)');
    expect(['text', 'JSON'].map(parseLogFormat)).toEqual(['text', 'json']);
    expect(() => parseLogFormat('xml')).toThrow('not a log format (text or json)');
  });

  it('the mount plan: defaults info and text; a flag, -o or the environment sets them; a bad value names where it came from', () => {
    const plan = resolveMountPlan(mountInput(), ctx);
    expect([plan.logLevel, plan.logFormat]).toEqual(['info', 'text']);
    const set = resolveMountPlan(
      mountInput({ logLevel: given('debug', 'cli', '--log-level', 'MACHPAGER_LOG_LEVEL'), options: ['log_format=json'] }),
      ctx,
    );
    expect([set.logLevel, set.logFormat]).toEqual(['debug', 'json']);
    const fromEnv = resolveMountPlan(mountInput({ logLevel: given('warn', 'env', '--log-level', 'MACHPAGER_LOG_LEVEL') }), ctx);
    expect(fromEnv.logLevel).toBe('warn');
    expect(() => resolveMountPlan(mountInput({ logLevel: given('loud', 'cli', '--log-level', 'MACHPAGER_LOG_LEVEL') }), ctx)).toThrow(
      '--log-level loud: not a log level (one of trace, debug, info, warn, error, silent)',
    );
    expect(() => resolveMountPlan(mountInput({ logFormat: given('xml', 'env', '--log-format', 'MACHPAGER_LOG_FORMAT') }), ctx)).toThrow(
      'MACHPAGER_LOG_FORMAT=xml: not a log format (text or json)',
    );
    expect(() => resolveMountPlan(mountInput({ options: ['log_level=3'] }), ctx)).toThrow(/^-o log_level=3: not a log level/);
    expect(() => resolveMountPlan(mountInput({ logFormat: given('text', 'cli', '--log-format'), options: ['log_format=json'] }), ctx)).toThrow(
      '--log-format text: conflicts with -o log_format=json',
    );
  });

  describe('on the command line', () => {
    let tmp = '';
    beforeEach(async () => {
      tmp = await tempDir('log-options');
    });
    afterEach(async () => {
      await removeTemp(tmp);
    });

    it('a bad --log-level is one usage line, exit 2, and nothing is opened; --help lists both options', async () => {
      const r = await runInProcess(['mount', '--log-level', 'chatty', 'mnt'], { cwd: tmp, env: { MACHPAGER_HOME: path.join(tmp, 'home') } });
      expect({ code: r.code, lines: r.lines, opened: r.opened }).toEqual({
        code: 2,
        lines: ['machpager: --log-level chatty: not a log level (one of trace, debug, info, warn, error, silent)'],
        opened: [],
      });
      const help = await runInProcess(['mount', '--help'], { cwd: tmp });
      // commander wraps the lines to the terminal: read the text with its white space folded.
      const text = help.stdout.replace(/\s+/g, ' ');
      expect(text).toMatch(/--log-level <level> the daemon log's least level: trace, debug, info, warn, error or silent \(see below\) \(default: "info", env: MACHPAGER_LOG_LEVEL\)/);
      expect(text).toMatch(/--log-format <format> the daemon log's lines: text \(human\) or json \(one JSON object a line\) \(default: "text", env: MACHPAGER_LOG_FORMAT\)/);
    });
  });
});

describe('the logger', () => {
  it('text: the message after "machpager: ", a level other than info said, below the level nothing', () => {
    const { log, lines } = logTo('text');
    log.info('mounted x on y');
    log.warn('sync failed: EIO');
    log.error('unmount failed');
    log.debug('not shown');
    log.at('warn')('kernel: protocol error');
    expect(lines).toEqual(['machpager: mounted x on y', 'machpager: warning: sync failed: EIO', 'machpager: error: unmount failed', 'machpager: warning: kernel: protocol error']);
  });

  it('text from a daemon: the time and the pid first', () => {
    const { log, lines } = logTo('text', 'debug', 'stamped');
    log.debug('control socket /run/x');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z machpager\\[${process.pid}\\]: debug: control socket /run/x$`))]);
  });

  it('json: one object a line with level, time, pid, name, msg and the fields', () => {
    const { log, lines } = logTo('json', 'trace');
    log.trace('t');
    log.info('policy lru -> fifo', { change: 'policy', old: 'lru', new: 'fifo' });
    const [t, info] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(t).toMatchObject({ level: 'trace', msg: 't' });
    expect(info).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-.*Z$/) as unknown, pid: process.pid, name: 'machpager', msg: 'policy lru -> fifo', change: 'policy', old: 'lru', new: 'fifo' });
  });

  it('silent writes nothing; warn keeps warn and error', () => {
    const silent = logTo('json', 'silent');
    silent.log.error('x');
    expect(silent.lines).toEqual([]);
    const warn = logTo('text', 'warn');
    warn.log.info('i');
    warn.log.warn('w');
    warn.log.error('e');
    expect(warn.lines).toEqual(['machpager: warning: w', 'machpager: error: e']);
    expect([warn.log.enabled('info'), warn.log.enabled('error')]).toEqual([false, true]);
  });
});

describe('a change made through the control socket is one info line: what, from what to what, who asked', () => {
  let mounted: InProcessFs;
  let server: ControlServer;
  let dir = '';
  let lines: string[];
  let control: MountControl;
  const uid = process.geteuid?.() ?? 0;

  const call = async (method: string, params: Record<string, unknown>): Promise<unknown> => {
    const [answer] = (await exchange(server.socketPath, `${JSON.stringify({ id: 1, method, params })}\n`, 1)) as { result?: unknown; error?: unknown }[];
    expect(answer.error).toBeUndefined();
    return answer.result;
  };
  const entries = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeEach(async () => {
    mounted = await openInProcessFs('log-changes');
    dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-log-sock-'));
    const { log, lines: written } = logTo('json');
    lines = written;
    control = new MountControl(mounted.fs, { mountpoint: '/mnt/x', version: 'test', changed: (c) => logChange(log, c) });
    // This process at both ends: the credentials a server that has SO_PEERCRED would see.
    server = await ControlServer.start({ socketPath: path.join(dir, 'control.sock'), handlers: control.handlers(), log: () => undefined, peer: () => ({ pid: process.pid, uid }) });
  });

  afterEach(async () => {
    await server.close();
    await mounted.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('policy: old and new names, and the caller from the socket', async () => {
    expect(await call('policy', {})).toMatchObject({ policy: 'lru' });
    expect(lines).toEqual([]);
    await call('policy', { name: 'fifo' });
    expect(entries()).toEqual([
      expect.objectContaining({ level: 'info', change: 'policy', old: 'lru', new: 'fifo', from: { connection: 2, pid: process.pid, uid }, msg: `policy lru -> fifo (from pid ${process.pid}, uid ${uid})` }),
    ]);
    // The same policy again changes nothing and says nothing.
    await call('policy', { name: 'fifo' });
    expect(lines).toHaveLength(1);
  });

  it('cache size in bytes, sync and evict with pages before and after, trace start and stop', async () => {
    await call('cacheSize', { size: 2 << 20 });
    await call('sync', {});
    await call('evict', { all: true });
    const file = path.join(dir, 'trace.jsonl');
    await call('trace', { action: 'start', path: file });
    await call('trace', { action: 'stop' });
    expect(entries().map((e) => [e.change, e.old, e.new, e.msg])).toEqual([
      ['cache-size', 1 << 20, 2 << 20, expect.stringMatching(/^cache size 1M -> 2M, 512 frames \(from pid/)],
      ['sync', 0, 0, expect.stringMatching(/^sync \/: dirty pages 0 -> 0/)],
      ['evict', 0, 0, expect.stringMatching(/^evict all: resident pages 0 -> 0 \(0 file\(s\)\)/)],
      ['trace', 'stopped', 'recording', expect.stringMatching(/^trace started: recording to .*trace\.jsonl/)],
      ['trace', 'recording', 'stopped', expect.stringMatching(/^trace stopped: .*trace\.jsonl \(0 request\(s\), 0 dropped\)/)],
    ]);
    expect(entries().every((e) => e.level === 'info' && (e.from as { pid?: number }).pid === process.pid)).toBe(true);
  });

  it('a refused change writes no line; a server without credentials gives the connection only, and the text line no "from"', async () => {
    const [bad] = (await exchange(server.socketPath, `${JSON.stringify({ id: 1, method: 'policy', params: { name: 'nope' } })}\n`, 1)) as { error?: { code: string } }[];
    expect(bad.error?.code).toBe('EINVAL');
    expect(lines).toEqual([]);
    const { log, lines: text } = logTo('text');
    const plain = await ControlServer.start({ socketPath: path.join(dir, 'plain.sock'), handlers: new MountControl(mounted.fs, { mountpoint: '/mnt/x', version: 'test', changed: (c) => logChange(log, c) }).handlers(), log: () => undefined });
    try {
      await exchange(plain.socketPath, `${JSON.stringify({ id: 1, method: 'policy', params: { name: 'mach' } })}\n`, 1);
    } finally {
      await plain.close();
    }
    expect(text).toEqual(['machpager: policy lru -> mach']);
  });
});
