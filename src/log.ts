/**
 * JSON-line logs. Every line carries the FC request id of the invocation it belongs to, and
 * every field passes through `redact`, so a secret cannot reach a log by accident.
 */
import { redact, scrubMessage } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string) => void;

const defaultSink: LogSink = (line) => process.stdout.write(`${line}\n`);

export function createLogger(base: Record<string, unknown> = {}, options: { level?: Level; sink?: LogSink; now?: () => number } = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const sink = options.sink ?? defaultSink;
  const now = options.now ?? Date.now;
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields ?? {})) plain[k] = v instanceof Error ? errorFields(v) : v;
    const entry = redact({ time: new Date(now()).toISOString(), level, msg, ...base, ...plain });
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, options),
  };
}

/** What a log line keeps of an error: never its SQL parameters or other attached data. */
function errorFields(value: Error): Record<string, unknown> {
  const e = value as Error & { code?: string; requestId?: string };
  return { name: e.name, message: scrubMessage(e.message), code: e.code, requestId: e.requestId };
}

/** A logger that drops everything; for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({}, { sink: () => {} });
