/**
 * Debian's real Prometheus and amtool against a started ReskPoints (slow suite; `.ci/run`
 * installs the `prometheus` and `prometheus-alertmanager` packages): Prometheus, with a rule
 * that fires and ReskPoints as its Alertmanager, sends the alert, which goes out to a webhook
 * receiver; amtool lists it, adds a silence that mutes it, and expires the silence.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';

const run = promisify(execFile);
const PROMETHEUS = '/usr/bin/prometheus';
const AMTOOL = '/usr/bin/amtool';

async function until<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Prometheus and amtool against ReskPoints', () => {
  let server: TestServer;
  let hook: Server;
  let prometheus: ChildProcess | undefined;
  let promLog = '';
  const received: any[] = [];
  const dir = tempDir('rp-prom-');

  beforeAll(async () => {
    for (const bin of [PROMETHEUS, AMTOOL])
      if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install prometheus prometheus-alertmanager`);
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    server = await startTestServer({
      alerting: {
        route: { receiver: 'hook', groupBy: ['alertname'], groupWait: 0, groupInterval: '1s', repeatInterval: '1h' },
        receivers: [{ name: 'hook', webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/` } }],
      },
    });
    const host = new URL(server.url).host;
    writeFileSync(
      join(dir, 'rules.yml'),
      [
        'groups:',
        '  - name: reskpoints-test',
        '    interval: 1s',
        '    rules:',
        '      - alert: ModelGatewayDown',
        '        expr: vector(1)',
        '        labels: { severity: page, service: gateway }',
        '        annotations: { summary: "the gateway answers nothing" }',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { evaluation_interval: 1s, scrape_interval: 15s }',
        'rule_files: [rules.yml]',
        'alerting:',
        '  alertmanagers:',
        '    - api_version: v2',
        `      static_configs: [{ targets: ["${host}"] }]`,
        `      authorization: { credentials: "${ADMIN_TOKEN}" }`,
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        '--web.listen-address=127.0.0.1:0',
        // Alertmanagers are discovered a few seconds after start; re-send soon after that.
        '--rules.alert.resend-delay=1s',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stderr?.on('data', (d: Buffer) => {
      promLog += d.toString();
    });
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await server?.stop();
    hook?.close();
  });

  /** amtool with the admin token as the basic-auth password in the URL. */
  const amtool = async (...args: string[]) => {
    const url = new URL(server.url);
    url.username = 'amtool';
    url.password = ADMIN_TOKEN;
    const r = await run(AMTOOL, [`--alertmanager.url=${url.toString().replace(/\/$/, '')}`, ...args]);
    return r.stdout;
  };

  it('Prometheus fires, ReskPoints notifies the webhook; amtool queries, silences and expires', async () => {
    const notification = await until(
      () => `Prometheus's alert at the webhook (prometheus log:\n${promLog.slice(-2000)})`,
      () => received.find((n) => n.commonLabels?.alertname === 'ModelGatewayDown'),
    );
    expect(notification).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'hook',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'ModelGatewayDown', severity: 'page', service: 'gateway' },
          annotations: { summary: 'the gateway answers nothing' },
          generatorURL: expect.stringContaining('/graph?g0.expr=vector'),
        },
      ],
    });

    // amtool sees the alert, as active.
    const listed = JSON.parse(await amtool('alert', 'query', '-o', 'json'));
    expect(listed).toMatchObject([
      { labels: { alertname: 'ModelGatewayDown' }, status: { state: 'active' }, receivers: [{ name: 'hook' }] },
    ]);
    const simple = await amtool('alert', 'query', 'alertname=ModelGatewayDown');
    expect(simple).toContain('ModelGatewayDown');

    // A silence added by amtool mutes it: the default query (active only) no longer lists it.
    const id = (
      await amtool(
        'silence',
        'add',
        'alertname=ModelGatewayDown',
        '--comment=gateway maintenance',
        '--author=ops',
        '--duration=1h',
      )
    ).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const silences = JSON.parse(await amtool('silence', 'query', '-o', 'json'));
    expect(silences).toMatchObject([
      {
        id,
        status: { state: 'active' },
        createdBy: 'ops',
        comment: 'gateway maintenance',
        matchers: [{ name: 'alertname', value: 'ModelGatewayDown', isRegex: false }],
      },
    ]);
    await until('the alert to be silenced', async () =>
      JSON.parse(await amtool('alert', 'query', '-o', 'json')).length === 0 ? true : undefined,
    );
    const withSilenced = JSON.parse(await amtool('alert', 'query', '--silenced', '-o', 'json'));
    expect(withSilenced).toMatchObject([{ status: { state: 'suppressed', silencedBy: [id] } }]);
    expect(await amtool('silence', 'query', '-q')).toContain(id);

    // Expired by amtool: gone from the active silences, listed with --expired, the alert active again.
    await amtool('silence', 'expire', id);
    expect((await amtool('silence', 'query', '-q')).trim()).toBe('');
    const expired = JSON.parse(await amtool('silence', 'query', '--expired', '-o', 'json'));
    expect(expired).toMatchObject([{ id, status: { state: 'expired' } }]);
    await until('the alert to be active again', async () =>
      JSON.parse(await amtool('alert', 'query', '-o', 'json')).length === 1 ? true : undefined,
    );

    // The same server with a bearer token from an HTTP config file, as amtool also allows.
    const httpConfig = join(dir, 'http.yml');
    writeFileSync(httpConfig, `authorization:\n  credentials: ${ADMIN_TOKEN}\n`);
    const viaBearer = await run(AMTOOL, [
      `--alertmanager.url=${server.url}`,
      `--http.config.file=${httpConfig}`,
      'alert',
      'query',
      '-o',
      'json',
    ]);
    expect(JSON.parse(viaBearer.stdout)).toHaveLength(1);
    // Without the token amtool fails.
    await expect(run(AMTOOL, [`--alertmanager.url=${server.url}`, 'alert', 'query'])).rejects.toThrow();
  });
});
