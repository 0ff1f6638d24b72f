#!/usr/bin/env node
/**
 * `mount.machpager`: the helper mount(8) runs for `mount -t machpager` and
 * fstab type `machpager` (and for `fuse.machpager` when installed as
 * /sbin/mount.fuse.machpager):
 *
 *     mount.machpager SPEC DIR [-sfnv] [-o OPTIONS]
 *
 * It becomes `machpager mount --daemon [-o OPTIONS] SPEC DIR` (helper-args.ts)
 * and returns once the mount answers. The daemon it starts is main.js.
 */
import { fileURLToPath } from 'node:url';
import { exitWith, runMountHelper } from './cli.js';
import { processDeps } from './deps.js';
import { openMachFilesystem } from '../service/open-filesystem.js';

const main = fileURLToPath(new URL('./main.js', import.meta.url));
const deps = processDeps({ openFilesystem: openMachFilesystem, self: { command: process.execPath, args: [...process.execArgv, main] } });
await exitWith(runMountHelper(process.argv.slice(2), deps));
