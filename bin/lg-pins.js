#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { installSignalCleanup } from '../dist/cli/signals.js';

installSignalCleanup();
process.exitCode = await main(process.argv.slice(2));
