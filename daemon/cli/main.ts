#!/usr/bin/env node
/**
 * The `machpager` executable (package.json "bin"). Run `machpager --help`.
 */
import { exitWith, runCli } from './cli.js';
import { processDeps } from './deps.js';
import { openMachFilesystem } from '../service/open-filesystem.js';

await exitWith(runCli(process.argv.slice(2), processDeps({ openFilesystem: openMachFilesystem })));
