/**
 * The alert input port. Modules that find alertable conditions — budget crossings, anomalies,
 * new or surging log patterns — expose them as signal sources; alert rules of kind `signal`
 * read them. The port is pull-based on purpose: a source answers from its persisted state
 * ("which conditions are active now"), so a restart, a leader change or a missed wake-up
 * delays an alert by at most one evaluation interval and never loses it. `changed` only wakes
 * consumers early, like commit notifications do for derived processing.
 */

export interface Signal {
  /** Stable identity of this condition within its source (e.g. the anomaly or budget-event id). */
  key: string;
  /** Dimensions rules match and group on: `project`, `model`, `series`, `service`, `pattern`, `budget`, … */
  labels: Record<string, string>;
  /** The condition's magnitude: an anomaly score, a budget's percent used, a pattern's rate. */
  value: number;
  /** When the condition began, epoch ms. */
  startsAtMs: number;
  /** The project it concerns, when it concerns one. */
  projectId?: string | null;
  /** Human-readable context for notifications: `summary`, `description`, `expected`, … */
  annotations?: Record<string, string>;
}

export interface SignalSource {
  /** Unique across modules: `anomaly`, `budget`, `log-pattern`, … */
  name: string;
  /** One sentence for docs and the rules API. */
  description: string;
  /** The conditions active now, read from the source's persisted state. */
  active(nowMs: number): Promise<readonly Signal[]>;
}

export interface SignalHub {
  /** Every module's sources (resolved when called, so modules created later are included). */
  sources(): readonly SignalSource[];
  source(name: string): SignalSource | undefined;
  /** A producer calls this after persisting a new or ended condition. Never throws. */
  changed(sourceName: string): void;
  /** Returns the unsubscribe function. Listeners must not throw (a throw is swallowed). */
  onChanged(listener: (sourceName: string) => void): () => void;
}

/** Names sources may take (kebab case, like module names). */
export const SIGNAL_SOURCE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** A hub over a list of sources that is read when asked (the module host's running instances). */
export class LocalSignalHub implements SignalHub {
  private readonly listeners = new Set<(sourceName: string) => void>();

  constructor(private readonly list: () => readonly SignalSource[]) {}

  sources(): readonly SignalSource[] {
    return this.list();
  }

  source(name: string): SignalSource | undefined {
    return this.list().find((s) => s.name === name);
  }

  changed(sourceName: string): void {
    for (const l of [...this.listeners]) {
      try {
        l(sourceName);
      } catch {
        // A failing listener must not break the producer or the other listeners.
      }
    }
  }

  onChanged(listener: (sourceName: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Throws when two sources share a name or a name is not valid (a programming error). */
export function assertSignalSources(sources: readonly SignalSource[]): void {
  const seen = new Set<string>();
  for (const s of sources) {
    if (!SIGNAL_SOURCE_NAME.test(s.name)) throw new Error(`signal source name "${s.name}" is not kebab case`);
    if (seen.has(s.name)) throw new Error(`two modules declare the signal source "${s.name}"`);
    seen.add(s.name);
  }
}
