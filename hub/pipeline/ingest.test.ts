/** Waking delivery partitions after ingest commits (a fake queue counts the wake-ups). */
import type { HubContext } from '../context';
import type { IntakeOutcome } from '../store/index';
import { wakeDeliveries } from './ingest';

/** The outcome of one message whose document is planned for `target` in each of `partitions`. */
function planned(messageId: string, target: string, partitions: number[]): IntakeOutcome {
  return {
    messageId,
    ok: true,
    documents: partitions.map((partition, docIndex) => ({
      envelope: {} as never,
      outcome: {
        decision: 'accepted',
        rule: 'r',
        reason: 'r',
        revision: 1,
        replayed: false,
        deliveries: [
          {
            id: `${messageId}-${docIndex}-${target}`,
            routeId: 'r',
            target,
            kind: 'update',
            status: 'pending',
            objectRevision: 1,
            partition,
          },
        ],
      },
    })),
  };
}

function fakeHub(fail = false) {
  const added: string[] = [];
  const ctx = {
    queues: {
      deliver: (target: string, partition: number) => ({
        add: async (_name: string, _data: unknown, options: { deduplication: { id: string } }) => {
          await new Promise((resolve) => setImmediate(resolve));
          if (fail) throw new Error('Redis is down');
          added.push(`${target}/${partition}:${options.deduplication.id}`);
        },
      }),
    },
  } as unknown as HubContext;
  return { ctx, added };
}

describe('waking delivery partitions', () => {
  it('adds one wake-up per partition for the ingest jobs that finish together, and each job waits for its own', async () => {
    const { ctx, added } = fakeHub();
    const jobs = Array.from({ length: 16 }, (_, job) =>
      wakeDeliveries(ctx, [planned(`m${job}`, 'mes', [0, 1, 2, 3]), planned(`n${job}`, 'erp', [job % 2])]),
    );
    await Promise.all(jobs);
    expect(added.sort()).toEqual(
      ['erp/0:wake-erp-0', 'erp/1:wake-erp-1', ...[0, 1, 2, 3].map((p) => `mes/${p}:wake-mes-${p}`)].sort(),
    );
    // A job that finishes later gets a wake-up of its own: the partition may have drained meanwhile.
    await wakeDeliveries(ctx, [planned('late', 'mes', [2])]);
    expect(added.filter((name) => name.startsWith('mes/2:'))).toHaveLength(2);
  });

  it('fails every job that waited for a wake-up Redis did not take, so each is retried', async () => {
    const { ctx } = fakeHub(true);
    const jobs = [wakeDeliveries(ctx, [planned('a', 'mes', [0])]), wakeDeliveries(ctx, [planned('b', 'mes', [1])])];
    for (const job of jobs) await expect(job).rejects.toThrow('Redis is down');
  });

  it('adds nothing for a batch that planned no delivery', async () => {
    const { ctx, added } = fakeHub();
    await wakeDeliveries(ctx, [{ messageId: 'x', ok: true, documents: [] }]);
    expect(added).toEqual([]);
  });
});
