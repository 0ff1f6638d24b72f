/**
 * SdNotifier (daemon/service/sd-notify.ts): sd_notify through systemd-notify,
 * received on a real AF_UNIX datagram socket (test/systemd/notify-socket.ts):
 * nothing without NOTIFY_SOCKET, the assignments in order, MAINPID and the
 * sender's credentials, one-line STATUS, failures logged and never thrown.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SdNotifier } from '../../daemon/service/sd-notify.js';
import { field, NotifySocket } from '../systemd/notify-socket.js';
import { alive, removeTemp, tempDir } from '../cli/harness.js';

let tmp = '';
let socket: NotifySocket | undefined;
let logged: string[] = [];
const log = (line: string): void => {
  logged.push(line);
};

beforeEach(async () => {
  tmp = await tempDir('sd-notify');
  logged = [];
});

afterEach(async () => {
  await socket?.close();
  socket = undefined;
  await removeTemp(tmp);
});

async function listen(): Promise<{ env: Record<string, string>; socket: NotifySocket }> {
  socket = await NotifySocket.open(path.join(tmp, 'notify.sock'));
  return { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket.path }, socket };
}

describe('SdNotifier', () => {
  it('does nothing without NOTIFY_SOCKET (not even look for systemd-notify)', async () => {
    const n = new SdNotifier({ env: { PATH: '/usr/bin:/bin' }, log, command: path.join(tmp, 'no-such-command') });
    expect(n.active).toBe(false);
    n.ready('mounted');
    n.stopping('syncing');
    await n.idle();
    expect(logged).toEqual([]);
  });

  it('sends READY=1 with MAINPID and STATUS, then STOPPING=1, in order, as the daemon (its pid in the credentials)', async () => {
    const { env, socket: s } = await listen();
    const n = new SdNotifier({ env, log });
    expect(n.active).toBe(true);
    n.ready('mounted sqlite:/x.db on /mnt/x (cache 64M)');
    n.status('one');
    n.status('two\nlines');
    n.stopping('syncing sqlite:/x.db');
    await n.idle();
    expect(logged).toEqual([]);

    const sent = s.messages.filter((m) => !m.fields.includes('BARRIER=1'));
    expect(sent.map((m) => m.fields.filter((f) => !f.startsWith('MAINPID=')))).toEqual([
      ['READY=1', 'STATUS=mounted sqlite:/x.db on /mnt/x (cache 64M)'],
      ['STATUS=one'],
      ['STATUS=two lines'],
      ['STOPPING=1', 'STATUS=syncing sqlite:/x.db'],
    ]);
    const ready = sent[0];
    expect(ready && field(ready, 'MAINPID')).toBe(String(process.pid));
    // As root, systemd-notify sends with its parent's pid (ours): systemd attributes the message to the main process.
    if (process.getuid?.() === 0) for (const m of sent) expect(m.pid).toBe(process.pid);
    // Each message was followed by systemd-notify's barrier (it waited until the "manager" had it).
    expect(s.with('BARRIER=1').length).toBe(4);
  });

  it('logs a sender that cannot be run, and goes on', async () => {
    const { env } = await listen();
    const n = new SdNotifier({ env, log, command: path.join(tmp, 'no-such-systemd-notify') });
    n.ready('mounted');
    await n.idle();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^could not tell systemd READY=1 STATUS=mounted: .*\(.*no-such-systemd-notify not found: it comes with systemd\)$/);
  });

  it('logs what a failing systemd-notify said', async () => {
    const { env } = await listen();
    const n = new SdNotifier({ env: { ...env, NOTIFY_SOCKET: path.join(tmp, 'nobody-listens.sock') }, log });
    n.stopping('syncing');
    await n.idle();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^could not tell systemd STOPPING=1 STATUS=syncing: .*(No such file|not found|ENOENT)/i);
  });

  it('does not wait for ever for a sender that hangs: idle() gives up, the sender is stopped after its timeout', async () => {
    const { env } = await listen();
    const hang = path.join(tmp, 'hang');
    const pidFile = path.join(tmp, 'hang.pid');
    await writeFile(hang, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 30\n`);
    await chmod(hang, 0o755);
    const n = new SdNotifier({ env, log, command: hang, timeoutMs: 500 });
    n.ready('mounted');
    await n.idle(100);
    // idle() gave up while the sender still ran: its failure (at 500 ms) is not logged yet.
    expect(logged).toEqual(['systemd-notify: 1 message(s) still unsent after 0.1 s; not waiting for them']);
    await n.idle(5_000);
    expect(logged).toHaveLength(2);
    expect(logged[1]).toMatch(/^could not tell systemd READY=1 STATUS=mounted: /);
    // The hanging sender was stopped, not left behind.
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    expect(alive(pid)).toBe(false);
  });
});
