/**
 * At most `limit` pieces of work running at once, across every caller that shares the slots;
 * the others start in the order they asked.
 */
export type WorkSlots = <R>(piece: () => Promise<R>) => Promise<R>;

export function workSlots(limit: number): WorkSlots {
  let busy = 0;
  const waiting: Array<() => void> = [];
  return async (piece) => {
    // A slot freed is handed straight to the next in line, so `busy` never drops and rises again.
    if (busy >= Math.max(1, limit)) await new Promise<void>((resolve) => waiting.push(resolve));
    else busy++;
    try {
      return await piece();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else busy--;
    }
  };
}

/**
 * Runs `fn` over `items`, at most `limit` at once (or within slots shared with other work);
 * after a failure no further item starts, and the first failure is thrown once those running are done.
 */
export async function forEachConcurrently<T>(items: readonly T[], limit: number | WorkSlots, fn: (item: T) => Promise<void>): Promise<void> {
  const run = typeof limit === 'number' ? workSlots(limit) : limit;
  let stop = false;
  const settled = await Promise.allSettled(
    items.map((item) =>
      run(async () => {
        if (stop) return;
        await fn(item).catch((error: unknown) => {
          stop = true;
          throw error;
        });
      }),
    ),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Work handed on to run one piece after another, in the order handed, while the one handing it
 * goes on. The first piece that fails stops the rest (they are skipped); `failed` says so, and
 * `done` waits for what was handed and throws that failure.
 */
export function serialQueue() {
  let chain: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let waiting = 0;
  const roomWaiters: Array<{ most: number; resolve: () => void }> = [];
  const settled = () => {
    waiting--;
    for (let i = roomWaiters.length - 1; i >= 0; i--) {
      if (waiting > roomWaiters[i]!.most) continue;
      roomWaiters[i]!.resolve();
      roomWaiters.splice(i, 1);
    }
  };
  return {
    push(piece: () => Promise<void>): void {
      waiting++;
      chain = chain
        .then(() => (failure ? undefined : piece()))
        .catch((error) => {
          failure ??= { error };
        })
        .finally(settled);
    },
    /** Resolves once at most `most` pieces are handed and not yet done: who hands them waits for room. */
    room(most: number): Promise<void> {
      if (waiting <= most) return Promise.resolve();
      return new Promise((resolve) => roomWaiters.push({ most, resolve }));
    },
    get failed(): boolean {
      return failure !== undefined;
    },
    async done(): Promise<void> {
      await chain;
      if (failure) throw failure.error;
    },
  };
}
