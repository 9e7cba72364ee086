/**
 * The live tail: committed log lines go out as `logs` platform events (the `/api/v1/events`
 * WebSocket), one event per project and commit. A tail is for people watching, so an event
 * carries at most `MAX_LINES_PER_EVENT` lines (the newest) and says how many it left out;
 * search reads them all.
 */
import type { LogRecord } from '@reskpoints/core';
import type { PublishedEvent } from '../platform/events.js';

export const MAX_LINES_PER_EVENT = 500;
/** Bodies are cut for the tail; the stored record keeps the whole body. */
const MAX_BODY_CHARS = 4_096;

export interface LiveTailLine {
  id: string;
  timeMs: number;
  serviceName: string | null;
  environment: string;
  severity: LogRecord['severity'];
  body: string;
  traceId: string | null;
  spanId: string | null;
  patternId: string | null;
  attributes: LogRecord['attributes'];
}

export interface LiveTailData {
  items: LiveTailLine[];
  /** Lines of this commit left out of the event (over the per-event bound). */
  omitted: number;
}

export function liveTailEvents(logs: readonly LogRecord[], atMs: number): PublishedEvent[] {
  const byProject = new Map<string, LogRecord[]>();
  for (const l of logs) {
    const list = byProject.get(l.projectId);
    if (list) list.push(l);
    else byProject.set(l.projectId, [l]);
  }
  const out: PublishedEvent[] = [];
  for (const [projectId, list] of byProject) {
    const kept = list.length > MAX_LINES_PER_EVENT ? list.slice(-MAX_LINES_PER_EVENT) : list;
    const data: LiveTailData = {
      items: kept.map((l) => ({
        id: l.id,
        timeMs: l.timeMs,
        serviceName: l.serviceName,
        environment: l.environment,
        severity: l.severity,
        body: l.body.length > MAX_BODY_CHARS ? `${l.body.slice(0, MAX_BODY_CHARS)}…` : l.body,
        traceId: l.traceId,
        spanId: l.spanId,
        patternId: l.patternId,
        attributes: l.attributes,
      })),
      omitted: list.length - kept.length,
    };
    out.push({ topic: 'logs', projectId, atMs, data });
  }
  return out;
}
