/**
 * The last line of defence of the local processes (`npm start`, `npm run sandbox`): a
 * promise rejection that nothing handled is logged and counted instead of ending the
 * process. Every known cause is handled where it happens; this only keeps an unknown one
 * from taking the whole system down with it.
 */
let unhandled = 0;
let installed = false;

export function unhandledRejections(): number {
  return unhandled;
}

export function installProcessGuard(log: (entry: Record<string, unknown>) => void): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    unhandled++;
    const err = reason instanceof Error ? reason : new Error(String(reason));
    log({
      time: new Date().toISOString(),
      level: 'error',
      component: 'process-guard',
      msg: 'unhandled promise rejection (kept running)',
      count: unhandled,
      error: err.message,
      errorType: err.name,
    });
  });
}
