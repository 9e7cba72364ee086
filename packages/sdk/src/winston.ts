/**
 * winston transport: `new winston.transports.Console(), new ReskPointsTransport({ logs })`.
 * Samples each entry with the service's policy and ships kept ones to ReskPoints.
 */
import { severityFromText } from '@reskpoints/core';
import TransportStream from 'winston-transport';
import type { ReskPointsLogs } from './reskpoints-logs.js';

const RESERVED = new Set(['level', 'message', 'timestamp', 'trace_id', 'span_id']);

export class ReskPointsTransport extends TransportStream {
  private readonly logs: ReskPointsLogs;

  constructor(opts: TransportStream.TransportStreamOptions & { logs: ReskPointsLogs }) {
    super(opts);
    this.logs = opts.logs;
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const message = typeof info['message'] === 'string' ? (info['message'] as string) : String(info['message'] ?? '');
    const level = (info[Symbol.for('level')] as string | undefined) ?? (info['level'] as string | undefined);
    const attributes: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(info)) {
      if (RESERVED.has(k)) continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      else if (v !== null && v !== undefined) attributes[k] = JSON.stringify(v);
    }
    const line = {
      message,
      severity: severityFromText(level),
      attributes,
      ...(typeof info['trace_id'] === 'string' ? { traceId: info['trace_id'] as string } : {}),
      ...(typeof info['span_id'] === 'string' ? { spanId: info['span_id'] as string } : {}),
    };
    this.logs.handle(line);
    callback();
  }
}
