// `npm run bench`: every benchmark that needs no external service, one after the other, each
// printing its own figure lines. (`npm run bench:cluster` needs ClickHouse, PostgreSQL and NATS.)
import { spawnSync } from 'node:child_process';

const steps = [
  ['ingest', process.execPath, ['bench/ingest.mjs']],
  ['otlp-decode', 'npx', ['tsx', 'bench/otlp-decode.ts']],
  ['query', 'npx', ['tsx', 'bench/query.ts']],
  ['logs', 'npx', ['tsx', 'bench/logs.ts']],
  ['cost', 'npx', ['tsx', 'bench/cost.ts']],
];
let failed = 0;
for (const [name, cmd, argv] of steps) {
  console.log(`# ${name}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`# ${name} failed (exit ${r.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
