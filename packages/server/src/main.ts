import { nodeIo } from './cli/io.js';
import { runCli } from './cli/program.js';

// The `reskpoints` command. Command implementations live in ./cli; this only wires the process.
const outcome = await runCli(process.argv.slice(2), nodeIo());
// A started server keeps the process alive through its open handles; everything else ends here.
if (!outcome.keepRunning) process.exitCode = outcome.exitCode;
