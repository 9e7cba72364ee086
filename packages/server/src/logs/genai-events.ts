/**
 * OpenTelemetry GenAI events that arrive as log records (`gen_ai.system.message`,
 * `gen_ai.user.message`, `gen_ai.assistant.message`, `gen_ai.tool.message`, `gen_ai.choice`,
 * and the newer `gen_ai.client.inference.operation.details`) carry the prompt and completion
 * of the LLM call of their span. This file turns them into excerpt parts and attaches those to
 * the calls. Pure functions; the module wires them in (see docs/logs.md, "GenAI events"):
 * - calls and events in one request: the enrichment step fills the calls' excerpts directly;
 * - otherwise (OpenTelemetry SDKs export spans and logs separately): the parts are kept in
 *   `logs_genai_pending` and the `genai-excerpts` job fills the stored call once it is there,
 *   whichever arrived first.
 */
import { type LlmCall, type LogRecord, type TelemetryBatch, truncateExcerpt } from '@reskpoints/core';

export type ExcerptKind = 'prompt' | 'response';

/** One message of a GenAI event, as text, with where it belongs. */
export interface GenAiPart {
  projectId: string;
  traceId: string;
  spanId: string;
  /** The log record it came from (several parts of one record share it, told apart by `seq`). */
  logId: string;
  timeMs: number;
  /** Order within the event stream of the span: the record's place in its request, then the message's. */
  seq: number;
  kind: ExcerptKind;
  text: string;
}

const ROLE_EVENTS: Record<string, string> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
};
const CHOICE = 'gen_ai.choice';
const DETAILS = 'gen_ai.client.inference.operation.details';

/** True for the GenAI events whose content becomes excerpts. */
export function isGenAiContentEvent(name: string | null): boolean {
  return name !== null && (name in ROLE_EVENTS || name === CHOICE || name === DETAILS);
}

function parseJson(text: string): unknown {
  const c = text.charCodeAt(0);
  if (c !== 123 /* { */ && c !== 91 /* [ */) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Text of a message `content`: a string, or an array of parts (`{type:'text', text|content}`). */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content === '' ? null : content;
  if (Array.isArray(content)) {
    const texts = content.map((p) => (isObject(p) ? (p['text'] ?? p['content']) : p)).filter((t) => t != null);
    return texts.length ? texts.map((t) => (typeof t === 'string' ? t : JSON.stringify(t))).join('') : null;
  }
  if (content == null) return null;
  return JSON.stringify(content);
}

/** `role: text` of an old-style message body (`{content, tool_calls, …}`); null when no content was captured. */
function messageText(role: string, msg: Record<string, unknown>): string | null {
  const content = contentText(msg['content']);
  const tools = Array.isArray(msg['tool_calls']) && msg['tool_calls'].length ? JSON.stringify(msg['tool_calls']) : null;
  const text = content ?? tools;
  return text === null ? null : `${role}: ${text}`;
}

/** Text of a new-style message (`{role, parts:[{type:'text', content}, {type:'tool_call', …}]}`). */
function partsMessageText(m: unknown): string | null {
  if (!isObject(m)) return typeof m === 'string' ? m : null;
  const parts = Array.isArray(m['parts']) ? m['parts'] : [];
  const texts: string[] = [];
  for (const p of parts) {
    if (!isObject(p)) continue;
    if (p['type'] === 'text' && typeof p['content'] === 'string') texts.push(p['content']);
    else if (p['type'] !== 'text') {
      const { type: _t, ...rest } = p;
      if (Object.keys(rest).length) texts.push(`${String(p['type'])} ${JSON.stringify(rest)}`);
    }
  }
  if (!texts.length) return null;
  return typeof m['role'] === 'string' ? `${m['role']}: ${texts.join('')}` : texts.join('');
}

function messagesAttr(attrs: LogRecord['attributes'], key: string): unknown[] {
  const v = attrs[key];
  if (typeof v !== 'string') return [];
  const parsed = parseJson(v);
  return Array.isArray(parsed) ? parsed : parsed === undefined ? [v] : [parsed];
}

/**
 * The excerpt parts of one log record (none when it is not a GenAI event of a span, or its
 * content was not captured). `position` is the record's place in its request.
 */
export function genAiParts(log: LogRecord, position: number): GenAiPart[] {
  if (!isGenAiContentEvent(log.eventName) || log.traceId === null || log.spanId === null) return [];
  const base = {
    projectId: log.projectId,
    traceId: log.traceId,
    spanId: log.spanId,
    logId: log.id,
    timeMs: log.timeMs,
  };
  const out: GenAiPart[] = [];
  const push = (kind: ExcerptKind, text: string | null) => {
    if (text !== null && text !== '') out.push({ ...base, seq: position * 1000 + out.length, kind, text });
  };
  const name = log.eventName as string;
  const body = parseJson(log.body);
  const role = ROLE_EVENTS[name];
  if (role !== undefined) {
    push('prompt', isObject(body) ? messageText(role, body) : log.body ? `${role}: ${log.body}` : null);
  } else if (name === CHOICE) {
    const msg = isObject(body) && isObject(body['message']) ? body['message'] : null;
    if (msg) {
      const content = contentText(msg['content']);
      const tools =
        Array.isArray(msg['tool_calls']) && msg['tool_calls'].length ? JSON.stringify(msg['tool_calls']) : null;
      push('response', content ?? tools);
    } else if (!isObject(body)) push('response', log.body || null);
  } else {
    for (const m of messagesAttr(log.attributes, 'gen_ai.system_instructions')) {
      const t = isObject(m) && typeof m['content'] === 'string' ? m['content'] : partsMessageText(m);
      push('prompt', t === null ? null : `system: ${t}`);
    }
    for (const m of messagesAttr(log.attributes, 'gen_ai.input.messages')) push('prompt', partsMessageText(m));
    for (const m of messagesAttr(log.attributes, 'gen_ai.output.messages')) push('response', partsMessageText(m));
  }
  return out;
}

/** The excerpts of a span's parts: prompt messages in order, then the response, each cut to `maxChars`. */
export function excerptsOf(
  parts: readonly GenAiPart[],
  maxChars: number,
): { promptExcerpt: string | null; responseExcerpt: string | null } {
  const sorted = [...parts].sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq || (a.logId < b.logId ? -1 : 1));
  const join = (kind: ExcerptKind) => {
    const texts = sorted.filter((p) => p.kind === kind).map((p) => p.text);
    return texts.length ? truncateExcerpt(texts.join('\n'), maxChars) : null;
  };
  return { promptExcerpt: join('prompt'), responseExcerpt: join('response') };
}

export const spanKey = (projectId: string, traceId: string, spanId: string) =>
  `${projectId}\u0000${traceId}\u0000${spanId}`;

/** Parts grouped by (project, trace, span). */
export function groupBySpan<P extends GenAiPart>(parts: readonly P[]): Map<string, P[]> {
  const by = new Map<string, P[]>();
  for (const p of parts) {
    const k = spanKey(p.projectId, p.traceId, p.spanId);
    const list = by.get(k);
    if (list) list.push(p);
    else by.set(k, [p]);
  }
  return by;
}

/**
 * Fills the excerpts of a call from its span's parts where the call has none (what the call
 * reported itself wins). Returns true when something changed.
 */
export function fillExcerpts(call: LlmCall, parts: readonly GenAiPart[], maxChars: number): boolean {
  if (call.promptExcerpt !== null && call.responseExcerpt !== null) return false;
  const x = excerptsOf(parts, maxChars);
  let changed = false;
  if (call.promptExcerpt === null && x.promptExcerpt !== null) {
    call.promptExcerpt = x.promptExcerpt;
    changed = true;
  }
  if (call.responseExcerpt === null && x.responseExcerpt !== null) {
    call.responseExcerpt = x.responseExcerpt;
    changed = true;
  }
  return changed;
}

/**
 * The enrichment half: the batch's GenAI events attach to the batch's calls of the same span;
 * returns the parts whose call is not in the batch (to be kept until it is stored).
 */
export function attachInBatch(batch: TelemetryBatch, maxChars: number): GenAiPart[] {
  const logs = batch.logs;
  if (!logs || logs.length === 0) return [];
  const parts: GenAiPart[] = [];
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i] as LogRecord;
    if (log.eventName === null) continue; // the common case: not an event at all
    for (const p of genAiParts(log, i)) parts.push(p);
  }
  if (parts.length === 0) return [];
  const bySpan = groupBySpan(parts);
  if (maxChars > 0)
    for (const call of batch.llmCalls) {
      if (call.traceId === null || call.spanId === null) continue;
      const k = spanKey(call.projectId, call.traceId, call.spanId);
      const mine = bySpan.get(k);
      if (!mine) continue;
      fillExcerpts(call, mine, maxChars);
      bySpan.delete(k);
    }
  return [...bySpan.values()].flat();
}
