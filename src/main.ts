#!/usr/bin/env node
/**
 * interest-drift CLI entry: `interest-drift --help` lists the commands (src/cli/commands.ts).
 * Exit codes: 0 clean stop, 1 fatal error, 2 bad usage or configuration.
 */
import { runCli } from './cli/program';

void runCli(process.argv.slice(2)).then((code) => process.exit(code));
