/**
 * A throwaway PostgreSQL cluster (for the postgres: store's tests, through
 * test/helpers/postgres-cluster.ts, and its bench): initdb and pg_ctl in a
 * temporary directory, listening on a Unix socket in that directory only (no
 * TCP), stopped and removed by destroy(). As root the server runs as the
 * `postgres` user (initdb refuses root), and the directory is given to it.
 *
 * The binaries come from Debian's `postgresql` package (scripts/setup):
 * /usr/lib/postgresql/N/bin, the newest N, or `pg_config --bindir`.
 * fsync is off: the tests kill the daemon, never the server, so the
 * server's own durability is not what they check, and it costs the machine
 * seconds per test (a bench figure with it off is the server's best case).
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresCluster {
  /** The directory of the cluster and its socket. */
  readonly dir: string;
  /** A typed store name for database `db`: 'postgres:///db?host=DIR&user=postgres'. */
  uri(db: string): string;
  /** A new empty database. */
  createDatabase(db: string): Promise<void>;
  /** Stop the server (connections are cut: what a lost server looks like). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop (if running) and remove everything. */
  destroy(): Promise<void>;
}

/** Where initdb and pg_ctl are; undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(base, versions[0], 'bin');
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config either: not installed
  }
  return undefined;
}

const asRoot = process.getuid?.() === 0;

/** Where the server listens besides its socket: TCP addresses inside a network namespace (multi-host tests). */
export interface ClusterNetwork {
  /** `ip netns` name the server runs in. */
  readonly netns: string;
  /** Addresses it listens on (in that namespace). */
  readonly addresses: readonly string[];
  /** Clients it lets in without a password (pg_hba CIDR). */
  readonly clients: string;
}

/** A server binary, as the postgres user when we are root (in `netns` when given). */
function command(bin: string, args: string[], netns?: string): [string, string[]] {
  if (netns !== undefined) {
    const [file, argv] = command(bin, args);
    return ['ip', ['netns', 'exec', netns, file, ...argv]];
  }
  const binDir = postgresBinDir();
  if (binDir === undefined) throw new Error("PostgreSQL binaries not found (install Debian's postgresql: scripts/setup)");
  const path = join(binDir, bin);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

async function pgRun(bin: string, args: string[], netns?: string): Promise<void> {
  const [file, argv] = command(bin, args, netns);
  try {
    await run(file, argv, { cwd: '/' });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`${bin} ${args.join(' ')}: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

/** initdb and start a cluster in a new temporary directory. */
export async function startPostgresCluster(label = 'pg', network?: ClusterNetwork): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), `machpager-${label}-`));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  let running = false;
  const start = async (): Promise<void> => {
    // -k DIR -h '': a Unix socket in DIR, no TCP at all (unless the test gives a network).
    const listen = network ? network.addresses.join(',') : '';
    await pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', `-k ${dir} -h '${listen}' -c fsync=off -c max_connections=50`, 'start'], network?.netns);
    running = true;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    await pgRun('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
    running = false;
  };
  try {
    await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    if (network) appendFileSync(join(data, 'pg_hba.conf'), `host all all ${network.clients} trust\n`);
    await start();
  } catch (err) {
    await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    uri: (db) => `postgres:///${db}?host=${dir}&user=postgres`,
    createDatabase: (db) => pgRun('createdb', ['-h', dir, '-U', 'postgres', db]),
    stop,
    start,
    async destroy() {
      try {
        if (running) await pgRun('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'immediate', 'stop']);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
