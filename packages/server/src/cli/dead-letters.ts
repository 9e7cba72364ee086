import { formatInt, formatTime, renderTable, truncate } from './format.js';
import { type CliIo, println } from './io.js';
import { adminCall, type KeysOptions } from './keys.js';

interface DeadLetterDto {
  id: string;
  atMs: number;
  origin: string;
  reason: string;
  error: string;
  events: number;
  projectIds: string[];
  payloadType: string;
}

export function runListDeadLetters(o: KeysOptions & { limit?: string; after?: string }, io: CliIo): Promise<number> {
  const query = new URLSearchParams();
  if (o.limit) query.set('limit', o.limit);
  if (o.after) query.set('after', o.after);
  const qs = query.size ? `?${query}` : '';
  return adminCall<{ deadLetters: DeadLetterDto[]; held: { letters: number; events: number } }>(
    o,
    io,
    { method: 'GET', path: `/api/v1/dead-letters${qs}` },
    ({ deadLetters, held }) => {
      if (deadLetters.length === 0) {
        println(io.stdout, 'The dead-letter area is empty: everything acknowledged was stored.');
        return;
      }
      println(
        io.stdout,
        renderTable(
          [
            { header: 'id' },
            { header: 'when (UTC)' },
            { header: 'origin' },
            { header: 'reason' },
            { header: 'events', align: 'right' },
            { header: 'projects' },
            { header: 'error' },
          ],
          deadLetters.map((d) => [
            d.id,
            formatTime(d.atMs),
            d.origin,
            d.reason,
            formatInt(d.events),
            d.projectIds.join(','),
            truncate(d.error.replaceAll('\n', ' '), 100),
          ]),
        ),
      );
      println(io.stdout, `${formatInt(held.letters)} letters, ${formatInt(held.events)} events held`);
    },
  );
}

export function runRetryDeadLetter(id: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ stored: number; duplicates: number; stillRefused: number; remainingId: string | null }>(
    o,
    io,
    { method: 'POST', path: `/api/v1/dead-letters/${encodeURIComponent(id)}/retry` },
    (r) => {
      println(
        io.stdout,
        `Retried ${id}: ${formatInt(r.stored)} events stored, ${formatInt(r.duplicates)} were stored already`,
      );
      if (r.remainingId)
        println(io.stdout, `${formatInt(r.stillRefused)} events are still refused; they are kept as ${r.remainingId}`);
    },
  );
}

export function runDropDeadLetter(id: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<null>(o, io, { method: 'DELETE', path: `/api/v1/dead-letters/${encodeURIComponent(id)}` }, () =>
    println(io.stdout, `Dropped ${id}`),
  );
}
