import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import { JetStreamHandle } from './client.js';

/** Messages asked for per pull request. */
const FETCH_CHUNK = 1000;
/** A reader consumer left behind by a crashed process is removed by the server after this long (ns). */
const CONSUMER_INACTIVE_NS = 60_000_000_000;

/**
 * Hands `onMessage` the messages of `stream` with sequences in (from, to], in order (with `filterSubject`,
 * only that subject's), through an ephemeral consumer starting there: its pending count says how many
 * messages exist, so each pull asks for no more than are there and never waits for new ones. Messages
 * removed from the head meanwhile end the read early (the caller judges what is missing); a read that
 * ends short of what the stream's leader holds (a leader change, a lagging replica) fails, to be read
 * again whole.
 */
export async function readSequenceRange(handle: JetStreamHandle, stream: string, from: number, to: number,
  filterSubject: string | undefined, onMessage: (msg: JsMsg) => void): Promise<void> {
  const info = await handle.jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from + 1,
    inactive_threshold: CONSUMER_INACTIVE_NS, mem_storage: true, ...(filterSubject ? { filter_subject: filterSubject } : {}),
  });
  try {
    const consumer = await handle.js.consumers.get(stream, info.name);
    let pending = info.num_pending;
    let last = from;
    while (pending > 0 && last < to) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, to - last, FETCH_CHUNK) });
      let received = 0;
      for await (const msg of batch) {
        received++;
        if (msg.seq > to) return;
        onMessage(msg);
        last = msg.seq;
        pending = msg.info.pending;
        if (last >= to || pending === 0) break;
      }
      if (received === 0) {
        const { state } = await handle.jsm.streams.info(stream);
        if (state.first_seq > last + 1 || state.last_seq <= last) return;
        throw new Error(`a fetch from sequence ${last + 1} returned nothing although the stream holds it`);
      }
    }
    // The consumer reads its own server's replica, which may lag (a server catching up after a restart) and
    // then reports nothing pending too early: the stream's leader says whether the range really ended.
    if (last < to) {
      // The server's message-get takes a subject to find the next message on from a sequence (next_by_subj).
      const query = { seq: last + 1, next_by_subj: filterSubject ?? '>' };
      const next = await handle.jsm.streams.getMessage(stream, query);
      if (next !== null && next.seq <= to) {
        throw new Error(`the read ended at sequence ${last}, but the stream's leader holds sequence ${next.seq} of the range ` +
          `(the reading server's copy lags behind)`);
      }
    }
  } finally {
    await handle.jsm.consumers.delete(stream, info.name).catch(() => false);
  }
}
