/** Runs `fn` over `items`, at most `limit` at once, in order of start; rejects with the first error once all have settled. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
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
  return {
    push(piece: () => Promise<void>): void {
      chain = chain
        .then(() => (failure ? undefined : piece()))
        .catch((error) => {
          failure ??= { error };
        });
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
