/**
 * A ReskPoints server whose telemetry store never finishes an append, as a hung disk would:
 * every ingest request can only be acknowledged from the acknowledgement log. Used by the
 * durability test, which SIGKILLs it and restarts the real server on the same data dir.
 *
 *   node --import tsx stalled-store-server.ts <dataDir>
 */
import pino from 'pino';
import { startApp } from '../app.js';
import { LISTENING_PREFIX } from '../cli/server.js';
import type { TelemetryStore } from '../store/ports.js';
import { ADMIN_TOKEN, testConfig } from './harness.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: stalled-store-server.ts <dataDir>');

const stalled = (store: TelemetryStore): TelemetryStore =>
  new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendBatch') return () => new Promise(() => undefined);
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });

const app = await startApp(testConfig({ dataDir, adminToken: ADMIN_TOKEN, ingest: { ackLogAfterMs: 20 } }), {
  logger: pino({ level: 'silent' }),
  wrapTelemetryStore: stalled,
});
console.log(`${LISTENING_PREFIX}${app.url}`);
