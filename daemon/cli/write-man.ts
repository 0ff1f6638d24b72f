/**
 * `node dist/daemon/cli/write-man.js FILE`: write machpager(1) to FILE
 * (npm run build does, into dist/man/machpager.1). SOURCE_DATE_EPOCH, when
 * set, dates the page (reproducible builds); else today.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from './cli.js';
import { processDeps } from './deps.js';
import { manPage } from './man-page.js';
import { machpagerVersion } from '../version.js';

const out = process.argv[2];
if (out === undefined) {
  process.stderr.write('usage: write-man.js FILE\n');
  process.exit(2);
}
let captured = '';
const deps = processDeps({
  openFilesystem: () => Promise.reject(new Error('write-man mounts nothing')),
  stdout: (text) => {
    captured += text;
  },
});
const program = buildProgram({ deps, log: () => undefined, exitCode: 0 });
// The same width wherever it is built: a man page is read at 80 columns.
program.configureOutput({ getOutHelpWidth: () => 78 });
const helpOf = (command: Command): string => {
  captured = '';
  command.outputHelp();
  return captured;
};
const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const date = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().slice(0, 10);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, manPage({ program, helpOf, version: machpagerVersion(), date }));
