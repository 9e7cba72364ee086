/**
 * pino integration: `pino({ hooks: createPinoIntegration(logs).hooks }, yourDestination)`.
 * The `logMethod` hook runs before pino serialises a line: it mines the pattern and applies the
 * policy, so a dropped line costs one pattern lookup and pino does not even format it; a kept
 * line is queued for ReskPoints (message, severity, the object argument's fields) and then
 * written by pino to its destination as usual.
 */
import { type LogSeverity, severityFromText } from '@reskpoints/core';
import type { ShippedLog } from './otlp-log-shipper.js';
import type { ReskPointsLogs } from './reskpoints-logs.js';

export interface PinoIntegration {
  hooks: {
    logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void, level: number): void;
  };
}

function messageOf(args: unknown[]): string {
  const [a, b] = args;
  if (typeof a === 'string') return a;
  if (typeof b === 'string') return b;
  if (a instanceof Error) return a.message;
  if (a && typeof a === 'object') {
    const m = (a as Record<string, unknown>)['msg'] ?? (a as Record<string, unknown>)['message'];
    if (typeof m === 'string') return m;
  }
  return '';
}

function toLog(args: unknown[], message: string, severity: LogSeverity, patternId: string): ShippedLog {
  const attributes: Record<string, string | number | boolean> = { 'log.pattern_id': patternId };
  const log: ShippedLog = { timeMs: Date.now(), severity, body: message, attributes };
  const obj = args[0];
  if (obj && typeof obj === 'object' && !(obj instanceof Error)) {
    for (const k in obj as Record<string, unknown>) {
      const v = (obj as Record<string, unknown>)[k];
      if (k === 'msg') continue;
      if (k === 'trace_id' && typeof v === 'string') log.traceId = v;
      else if (k === 'span_id' && typeof v === 'string') log.spanId = v;
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      else if (v !== null && v !== undefined) attributes[k] = JSON.stringify(v);
    }
  } else if (obj instanceof Error) {
    attributes['exception.type'] = obj.name;
    if (obj.stack) attributes['exception.stacktrace'] = obj.stack;
  }
  return log;
}

export function createPinoIntegration(logs: ReskPointsLogs): PinoIntegration {
  return {
    hooks: {
      logMethod(args, method, level) {
        const message = messageOf(args);
        const severity = severityFromText(level);
        const d = logs.sampler.decide(message, severity, message.length);
        if (!d.keep) return;
        logs.shipper.enqueue(toLog(args, message, severity, d.patternId));
        method.apply(this, args);
      },
    },
  };
}
