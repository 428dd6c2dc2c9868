/** Running the connectors the configuration lists: each feeds its system's payloads into ingest. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectors as definitions, type Connector } from '../connectors/index';
import type { HubContext } from './context';
import { enqueueInbound } from './pipeline/enqueue';

export interface RunningConnector {
  id: string;
  kind: string;
  connector: Connector;
}

/**
 * Creates and starts every configured connector. A connector that cannot reach its peer at start
 * keeps trying on its own (its health says so); it never stops the hub from starting.
 */
export async function startConnectors(ctx: HubContext, dataDir: string): Promise<RunningConnector[]> {
  const running: RunningConnector[] = [];
  for (const instance of ctx.config.connectors) {
    const definition = definitions[instance.kind]!;
    const directory = join(dataDir, 'connectors', instance.id);
    mkdirSync(directory, { recursive: true });
    const connector = definition.create(instance.config as never, {
      logger: ctx.logger.child({ connector: instance.id }),
      dataDir: directory,
      emit: (payload) =>
        enqueueInbound(
          ctx,
          {
            system: payload.system,
            contentType: payload.contentType,
            body: payload.body,
            receivedAt: new Date().toISOString(),
          },
          payload.idempotencyKey,
        ),
    });
    try {
      await connector.start();
    } catch (error) {
      ctx.logger.error({ err: error, connector: instance.id }, 'connector did not start');
    }
    running.push({ id: instance.id, kind: instance.kind, connector });
  }
  return running;
}

export async function stopConnectors(running: RunningConnector[]): Promise<void> {
  await Promise.all(running.map(({ connector }) => connector.stop().catch(() => undefined)));
}
