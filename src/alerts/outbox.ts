/**
 * Sends what the outbox holds: per channel, oldest first, one at a time. A failure leaves
 * the message first in line with a backoff, so a channel that is down gets everything
 * later, in order. A claim (conditional UPDATE) keeps two senders off one message.
 */
import type { Logger } from '../log.js';
import type { AlertStore } from '../store/alerts.js';
import { type Channel, ChannelError } from './channels/index.js';
import type { NotificationPayload } from './notify.js';

const CLAIM_MS = 60_000;
const MAX_BACKOFF_MS = 10 * 60_000;
/** Attempts after which a message the receiver refuses for good leaves the line. */
export const PERMANENT_FAILURE_ATTEMPTS = 5;

function deliveryBackoff(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 5_000 * 2 ** Math.max(0, attempts - 1));
}

export async function deliverPending(
  store: AlertStore,
  channels: Channel[],
  options: { owner: string; now: () => Date; deadline: number; log: Logger; sendTimeoutMs: number },
): Promise<{ sent: number; failed: number; dead: number }> {
  let sent = 0;
  let failed = 0;
  let dead = 0;
  await Promise.all(
    channels.map(async (channel) => {
      // A send may take its whole timeout: start none that could outlive the invocation.
      while (options.now().getTime() + options.sendTimeoutMs < options.deadline) {
        const now = options.now();
        if (channel.perMinute && (await store.sentSince(channel.name, new Date(now.getTime() - 60_000))) >= channel.perMinute - 1) {
          options.log.info('channel at its rate limit; the rest waits for a later sweep', { channel: channel.name });
          return;
        }
        const d = await store.claimNext(channel.name, options.owner, now, CLAIM_MS);
        if (!d) return;
        try {
          await channel.send(d.payload as NotificationPayload, { deliveryId: d.id, now });
        } catch (err) {
          const message = err instanceof ChannelError ? err.message : `unexpected error: ${(err as Error).message}`;
          if (err instanceof ChannelError && err.permanent && d.attempts >= PERMANENT_FAILURE_ATTEMPTS) {
            await store.markDead(d.id, options.owner, message);
            options.log.error('delivery refused for good; taken out of the line', {
              channel: channel.name,
              deliveryId: d.id,
              attempts: d.attempts,
              error: message,
            });
            dead++;
            continue;
          }
          const wait = err instanceof ChannelError && err.retryAfterMs ? err.retryAfterMs : deliveryBackoff(d.attempts);
          await store.markFailed(d.id, options.owner, message, new Date(options.now().getTime() + wait));
          options.log.warn('delivery failed; it stays first in line', {
            channel: channel.name,
            deliveryId: d.id,
            attempts: d.attempts,
            retryInMs: wait,
            error: message,
          });
          failed++;
          return;
        }
        // Outside the send's try: a store error here must not turn a delivered message into a failed one.
        await store.markSent(d.id, options.owner, options.now());
        sent++;
      }
    }),
  );
  return { sent, failed, dead };
}
