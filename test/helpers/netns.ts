/**
 * Three network namespaces for multi-host tests: two clients (A, B) and a
 * server (DB), each client joined to the server by a veth pair of its own
 * (10.231.1.0/24 for A, 10.231.2.0/24 for B), so their traffic really
 * crosses an interface. Made by the test, removed after it (the veths go
 * with their namespaces). Needs root (ip netns).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestNetwork {
  readonly a: string;
  readonly b: string;
  readonly db: string;
  /** The server's address as A and B reach it. */
  readonly dbFromA: string;
  readonly dbFromB: string;
  /**
   * A command prefix that runs a program in namespace `ns`: nsenter --net,
   * not `ip netns exec`, which also gives the program a mount namespace of
   * its own (where a FUSE mount would be out of the test's sight).
   */
  exec(ns: string): string[];
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr ?? String(err)}`, { cause: err });
  }
}

export async function makeNetwork(): Promise<TestNetwork> {
  const tag = `mp${process.pid % 100000}`;
  const a = `${tag}a`;
  const b = `${tag}b`;
  const db = `${tag}d`;
  const made: string[] = [];
  const destroy = async (): Promise<void> => {
    const errors: string[] = [];
    for (const ns of made.splice(0).reverse()) await ip('netns', 'del', ns).catch((err: unknown) => errors.push(String(err)));
    if (errors.length > 0) throw new Error(errors.join('\n'));
  };
  try {
    for (const ns of [a, b, db]) {
      await ip('netns', 'add', ns);
      made.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    for (const [client, net] of [
      [a, 1],
      [b, 2],
    ] as const) {
      const here = `${client}x`;
      const there = `${client}y`;
      await ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there);
      await ip('link', 'set', here, 'netns', client);
      await ip('link', 'set', there, 'netns', db);
      await ip('-n', client, 'addr', 'add', `10.231.${net}.1/24`, 'dev', here);
      await ip('-n', db, 'addr', 'add', `10.231.${net}.2/24`, 'dev', there);
      await ip('-n', client, 'link', 'set', here, 'up');
      await ip('-n', db, 'link', 'set', there, 'up');
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { a, b, db, dbFromA: '10.231.1.2', dbFromB: '10.231.2.2', exec: (ns) => ['nsenter', `--net=/run/netns/${ns}`, '--'], destroy };
}
