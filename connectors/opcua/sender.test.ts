/**
 * The order ChangeSender hands changes to the hub in, with a hub that answers late and refuses a
 * change after later ones were sent: nothing is taken before a change that came earlier.
 */
import pino from 'pino';
import type { InboundPayload } from '../types';
import { ChangeSender } from './sender';

const payload = (n: number): InboundPayload => ({ system: 'scada', contentType: 'json', body: String(n) });

it('takes no change before an earlier one the hub refused after answering late', async () => {
  const taken: number[] = [];
  let calls = 0;
  const emit = async (sent: InboundPayload) => {
    calls += 1;
    // The first send waits 100 ms for Redis and is refused; every other one is taken at once.
    if (calls === 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      throw new Error('Redis did not answer within 100 ms');
    }
    return sent.body;
  };
  const sender = new ChangeSender({ emit, logger: pino({ level: 'silent' }) });
  sender.send({ payload: payload(1), taken: () => taken.push(1) });
  // The next changes come while the first still waits for its answer.
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (const n of [2, 3]) sender.send({ payload: payload(n), taken: () => taken.push(n) });
  const deadline = Date.now() + 5000;
  while (taken.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await sender.stop();
  expect(taken).toEqual([1, 2, 3]);
});
