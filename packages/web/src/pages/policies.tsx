import { useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { Card, Status, TableWrap } from '../components.js';
import { formatTime, formatUsd } from '../format.js';
import { useApi, usePageReady } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams, useLocation } from '../router.js';
import { ParamInput } from './logs.js';

interface Rule {
  patternId: string;
  rate: number;
  severity?: string;
  maxPerMinute?: number;
  template?: string;
}
interface Policy {
  service: string;
  alwaysKeepFrom: string;
  defaultRate: number;
  rules: Rule[];
}
interface PolicyVersion {
  service: string;
  version: number;
  deleted: boolean;
  policy: Policy | null;
  generatedBy: 'manual' | 'deterministic' | 'llm';
  note: string | null;
  createdAtMs: number;
  createdBy: string | null;
}
interface Projection {
  before: { linesPerMonth: number; gbPerMonth: number; usdPerMonth: number };
  after: { linesPerMonth: number; gbPerMonth: number; usdPerMonth: number };
  savedGbPerMonth: number;
  savedUsdPerMonth: number;
  savedShare: number;
}
interface Generated {
  policy: Policy;
  projection: Projection;
  generatedBy: 'llm' | 'deterministic';
  fallbackReason: string | null;
  version: PolicyVersion | null;
}

function RulesTable(props: { rules: Rule[]; caption: string }) {
  if (props.rules.length === 0) return <p class="muted">No rules: every line is kept.</p>;
  return (
    <TableWrap>
      <table data-rules>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Pattern</th>
            <th scope="col" class="num">
              Keep rate
            </th>
            <th scope="col">Severity</th>
            <th scope="col" class="num">
              Cap per minute
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rules.map((r) => (
            <tr key={`${r.patternId}/${r.severity ?? ''}`}>
              <th scope="row" class="log-body">
                <code>{r.template || r.patternId}</code>
              </th>
              <td class="num">{`${(r.rate * 100).toPrecision(3)}%`}</td>
              <td>{r.severity ?? 'below warn'}</td>
              <td class="num">{r.maxPerMinute ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** Sampling policies per service: the current one, a generated proposal with projected savings, and history. */
export function Policies(props: PageProps) {
  const { params } = useLocation();
  const project = params.get('project') ?? '';
  const service = params.get('service') ?? '';
  const scope = new URLSearchParams();
  if (props.isAdmin && project) scope.set('project', project);
  const needsProject = props.isAdmin && !project;
  const list = useApi<{ policies: PolicyVersion[] }>(needsProject ? null : '/api/v1/policies', scope, props.refresh);
  const [bump, setBump] = useState(0);
  const history = useApi<{ versions: PolicyVersion[] }>(
    service && !needsProject ? `/api/v1/policies/${encodeURIComponent(service)}/history` : null,
    scope,
    props.refresh + bump,
  );
  const [window, setWindow] = useState('24h');
  const [target, setTarget] = useState('60');
  const [proposal, setProposal] = useState<Generated | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  usePageReady(needsProject || !list.loading);

  const generate = async (apply: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api<Generated>(`/api/v1/policies/${encodeURIComponent(service)}/generate`, {
        method: 'POST',
        params: scope,
        body: { window, apply, ...(Number(target) > 0 ? { targetPerMinute: Number(target) } : {}) },
      });
      setProposal(r);
      if (apply) setBump((b) => b + 1);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const current = history.data?.versions[0];

  return (
    <>
      <div class="page-head">
        <h1>Sampling policies</h1>
      </div>
      <div class="toolbar">
        {props.isAdmin && <ParamInput name="project" label="Project" value={project} placeholder="project id" />}
        <ParamInput name="service" label="Service" value={service} placeholder="service name" />
      </div>
      {needsProject && <p class="muted">Enter a project id to see its services' policies.</p>}
      <Status loading={list.loading && !list.data} error={list.error} />
      {list.data && (
        <Card title="Services with a policy">
          {list.data.policies.length === 0 ? (
            <p class="muted" data-empty>
              No service has a policy yet: every line is kept. Enter a service to generate one.
            </p>
          ) : (
            <ul class="policy-list">
              {list.data.policies.map((p) => (
                <li key={p.service}>
                  <a
                    href={`/policies?${new URLSearchParams({ ...(project ? { project } : {}), service: p.service })}`}
                    onClick={(e) => {
                      e.preventDefault();
                      setProposal(null);
                      setParams((q) => q.set('service', p.service), true);
                    }}
                  >
                    {p.service}
                  </a>{' '}
                  <span class="muted">
                    v{p.version} · {p.policy?.rules.length ?? 0} rules · {p.generatedBy}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
      {service && !needsProject && (
        <>
          <Card title={`Current policy of ${service}`}>
            <Status loading={history.loading && !history.data} error={history.error} />
            {history.data &&
              (!current || current.deleted || !current.policy ? (
                <p class="muted">No policy in force: every line is kept.</p>
              ) : (
                <RulesTable rules={current.policy.rules} caption={`Rules of version ${current.version}`} />
              ))}
          </Card>
          <Card title="Generate from pattern statistics">
            <div class="toolbar">
              <label>
                <span class="label">Statistics of the last</span>
                <select value={window} onChange={(e) => setWindow((e.target as HTMLSelectElement).value)}>
                  <option value="1h">hour</option>
                  <option value="24h">24 hours</option>
                  <option value="7d">7 days</option>
                </select>
              </label>
              <label>
                <span class="label">Target lines per minute</span>
                <input
                  type="number"
                  min="0.01"
                  step="any"
                  value={target}
                  onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
                />
              </label>
              <button type="button" class="btn" disabled={busy} onClick={() => generate(false)}>
                Preview
              </button>
              <button
                type="button"
                class="btn primary"
                disabled={busy || !proposal || proposal.policy.rules.length === 0}
                onClick={() => generate(true)}
              >
                Apply as new version
              </button>
            </div>
            {error && <p role="alert">{error}</p>}
            {proposal && (
              <div data-proposal>
                <dl class="kpis">
                  <div>
                    <dt>Now, per month</dt>
                    <dd data-before>
                      {proposal.projection.before.gbPerMonth.toFixed(3)} GB ·{' '}
                      {formatUsd(proposal.projection.before.usdPerMonth)}
                    </dd>
                  </div>
                  <div>
                    <dt>With this policy</dt>
                    <dd>
                      {proposal.projection.after.gbPerMonth.toFixed(3)} GB ·{' '}
                      {formatUsd(proposal.projection.after.usdPerMonth)}
                    </dd>
                  </div>
                  <div>
                    <dt>Saved per month</dt>
                    <dd data-saved>
                      {formatUsd(proposal.projection.savedUsdPerMonth)} (
                      {(proposal.projection.savedShare * 100).toFixed(1)}%)
                    </dd>
                  </div>
                </dl>
                <p class="muted">
                  Proposed by the {proposal.generatedBy === 'llm' ? 'LLM' : 'deterministic generator'}
                  {proposal.fallbackReason ? ` (${proposal.fallbackReason})` : ''}
                  {proposal.version ? ` · applied as version ${proposal.version.version}` : ''}
                </p>
                <RulesTable rules={proposal.policy.rules} caption="Proposed rules" />
              </div>
            )}
          </Card>
          <Card title="History">
            {history.data && history.data.versions.length === 0 && <p class="muted">No versions yet.</p>}
            {history.data && history.data.versions.length > 0 && (
              <TableWrap>
                <table data-history>
                  <caption class="sr-only">Versions of the policy, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">When</th>
                      <th scope="col">By</th>
                      <th scope="col" class="num">
                        Rules
                      </th>
                      <th scope="col">Note</th>
                    </tr>
                  </thead>
                  <tbody>
                    {history.data.versions.map((v) => (
                      <tr key={v.version}>
                        <th scope="row">v{v.version}</th>
                        <td>{formatTime(v.createdAtMs)}</td>
                        <td>{v.deleted ? 'deleted' : v.generatedBy}</td>
                        <td class="num">{v.policy?.rules.length ?? 0}</td>
                        <td>{v.note ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </Card>
        </>
      )}
    </>
  );
}
