import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { isAppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { loadConfigFile } from './load.js';
import type { ExorunConfig } from './model.js';
import { formatWarning } from './problems.js';

/**
 * The live configuration of a process: the last valid jobs.yaml. A reload that finds problems is
 * reported and ignored, so a typo saved in an editor never stops a running scheduler or worker.
 */
export interface ConfigSource {
  current(): ExorunConfig;
  /** Re-reads the file; false (and the old configuration kept) when it has problems. */
  reload(): Promise<boolean>;
  /** Called after every successful reload; returns an unsubscribe function. */
  onChange(listener: (config: ExorunConfig) => void): () => void;
  close(): void;
}

export interface ConfigSourceOptions {
  logger: Logger;
  /** Reload when the file changes on disk (default true). */
  watch?: boolean;
  /** Quiet period after a change event before reloading; editors write in several steps. */
  debounceMs?: number;
}

export function createConfigSource(initial: ExorunConfig, options: ConfigSourceOptions): ConfigSource {
  let config = initial;
  const listeners = new Set<(config: ExorunConfig) => void>();
  const logger = options.logger;
  logConfigWarnings(logger, initial);

  async function reload(): Promise<boolean> {
    try {
      config = await loadConfigFile(config.file);
    } catch (error) {
      logger.error(
        { file: config.file, problems: isAppError(error) ? error.message : String(error) },
        'configuration not reloaded: the file has problems; keeping the previous one',
      );
      return false;
    }
    logger.info({ file: config.file, jobs: Object.keys(config.jobs).length, tenants: Object.keys(config.tenants).length }, 'configuration reloaded');
    logConfigWarnings(logger, config);
    for (const listener of listeners) listener(config);
    return true;
  }

  let watcher: FSWatcher | undefined;
  if (options.watch ?? true) {
    let timer: NodeJS.Timeout | undefined;
    try {
      // Watch the folder, not the file: editors save by writing a new file and renaming it.
      watcher = watch(path.dirname(config.file), (_event, name) => {
        if (name !== path.basename(config.file)) return;
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), options.debounceMs ?? 300);
      });
      watcher.on('error', (error) => logger.warn({ err: error }, 'cannot watch the configuration file; send SIGHUP to reload'));
      watcher.unref();
    } catch (error) {
      logger.warn({ err: error }, 'cannot watch the configuration file; send SIGHUP to reload');
    }
  }

  return {
    current: () => config,
    reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      watcher?.close();
      listeners.clear();
    },
  };
}

/**
 * Logs the warnings of a loaded configuration (`file:line:col path: warning: …`), one line each,
 * so a service says at start-up (and after each reload) what `exorun validate` would.
 */
export function logConfigWarnings(logger: Logger, config: ExorunConfig): void {
  for (const warning of config.warnings) logger.warn({ file: config.file, line: warning.line, path: warning.path }, formatWarning(warning));
}
