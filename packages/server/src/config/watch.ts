import { type FSWatcher, readFileSync, type Stats, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CONFIG_KEYS, getAtPath, setAtPath } from './keys.js';
import { type LoadConfigOptions, loadConfig } from './loader.js';
import type { Config } from './schema.js';

export interface WatchConfigOptions {
  /** The same flags and environment the running config was loaded with, so precedence holds on reload. */
  flags?: LoadConfigOptions['flags'];
  env?: LoadConfigOptions['env'];
  cwd?: string;
  /** Wait this long after the last change event before reloading (editors write in bursts). Default 150 ms. */
  debounceMs?: number;
  /**
   * Also check the file's size and mtime this often, because fs.watch misses changes on some
   * file systems (network mounts, some containers). Default 1000 ms; 0 disables polling.
   */
  pollIntervalMs?: number;
}

export interface ConfigWatcher {
  close(): void;
}

/** Leaf keys whose values differ between two configs, in schema order. */
export function changedConfigKeys(a: Config, b: Config): string[] {
  return CONFIG_KEYS.filter((k) => JSON.stringify(getAtPath(a, k.path)) !== JSON.stringify(getAtPath(b, k.path))).map(
    (k) => k.key,
  );
}

/**
 * Watches a config file and applies hot-reloadable settings when it changes. An invalid
 * edit keeps the running config and reports every issue; changes to other settings are
 * reported as needing a restart. Nothing thrown inside the watcher escapes it.
 *
 * `onChange` receives the running config with the hot-reloadable changes applied, and the
 * keys that changed.
 */
export function watchConfig(
  filePath: string,
  current: Config,
  onChange: (next: Config, changedKeys: string[]) => void,
  onProblem: (message: string) => void,
  options: WatchConfigOptions = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 150;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const fileName = basename(filePath);
  let running: Config = structuredClone(current);
  let lastText: string | null = readText(filePath);
  let lastStat: string | null = statSignature(filePath);
  let lastRestartReport = '';
  let lastProblemReport = '';
  let closed = false;
  let debounceTimer: NodeJS.Timeout | null = null;

  const report = (message: string): void => {
    try {
      onProblem(message);
    } catch {
      // A failing reporter must not take the watcher down with it.
    }
  };
  // Repeating the same complaint on every poll would drown the log.
  const reportOnce = (message: string): void => {
    if (message === lastProblemReport) return;
    lastProblemReport = message;
    report(message);
  };

  const reload = (): void => {
    if (closed) return;
    try {
      const text = readText(filePath);
      if (text === null) {
        lastText = null;
        reportOnce(`config file ${filePath} cannot be read; keeping the running configuration`);
        return;
      }
      if (text === lastText) return;
      lastText = text;
      const loaded = loadConfig({ flags: options.flags, env: options.env, cwd: options.cwd, filePath });
      if (!loaded.ok) {
        const issues = (loaded.error.issues ?? []).map((i) => `  - ${i.path}: ${i.message}`).join('\n');
        reportOnce(`config file ${filePath} is invalid; keeping the running configuration:\n${issues}`);
        return;
      }
      lastProblemReport = '';
      const next = loaded.value.config;
      const changed = changedConfigKeys(running, next);
      const hot = changed.filter((k) => CONFIG_KEYS.find((c) => c.key === k)?.hotReloadable);
      const cold = changed.filter((k) => !hot.includes(k));
      const restartReport = cold.join(',');
      if (cold.length > 0 && restartReport !== lastRestartReport) {
        report(`config file ${filePath} changed ${cold.join(', ')}: needs restart to take effect`);
      }
      lastRestartReport = restartReport;
      if (hot.length === 0) return;
      const applied = structuredClone(running) as unknown as Record<string, unknown>;
      for (const key of hot) {
        const info = CONFIG_KEYS.find((c) => c.key === key);
        if (info) setAtPath(applied, info.path, getAtPath(next, info.path));
      }
      running = applied as unknown as Config;
      try {
        onChange(structuredClone(running), hot);
      } catch (e) {
        report(`applying the reloaded configuration failed: ${(e as Error).message ?? String(e)}`);
      }
    } catch (e) {
      report(`config reload failed: ${(e as Error)?.message ?? String(e)}`);
    }
  };

  const schedule = (): void => {
    if (closed) return;
    if (debounceTimer) clearTimeout(debounceTimer);
    debounceTimer = setTimeout(reload, debounceMs);
    debounceTimer.unref();
  };

  // Watching the directory, not the file: editors that save by rename replace the inode,
  // after which a watch on the file itself goes silent.
  let fsWatcher: FSWatcher | null = null;
  try {
    fsWatcher = watch(dirname(filePath), { persistent: false }, (_event, name) => {
      if (name === null || name.toString() === fileName) schedule();
    });
    fsWatcher.on('error', () => {
      fsWatcher?.close();
      fsWatcher = null;
    });
  } catch {
    fsWatcher = null;
  }

  let pollTimer: NodeJS.Timeout | null = null;
  if (pollIntervalMs > 0) {
    pollTimer = setInterval(() => {
      try {
        const sig = statSignature(filePath);
        if (sig !== lastStat) {
          lastStat = sig;
          schedule();
        }
      } catch {
        // statSignature does not throw; this guards the timer regardless.
      }
    }, pollIntervalMs);
    pollTimer.unref();
  }

  return {
    close() {
      closed = true;
      if (debounceTimer) clearTimeout(debounceTimer);
      if (pollTimer) clearInterval(pollTimer);
      fsWatcher?.close();
    },
  };
}

function readText(filePath: string): string | null {
  try {
    return readFileSync(filePath, 'utf8');
  } catch {
    return null;
  }
}

function statSignature(filePath: string): string | null {
  let s: Stats;
  try {
    s = statSync(filePath);
  } catch {
    return null;
  }
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}
