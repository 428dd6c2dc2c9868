/**
 * `handover start [--config FILE] [--port N] [--role all|api|worker]`: runs the hub until
 * SIGINT/SIGTERM; SIGHUP reloads the mapping files.
 */
import { resolve } from 'node:path';
import { loadConfigFile } from '../config/load';
import { startHub, type Role } from '../hub';
import { redisSettings } from '../queue/redis-connection';
import { UsageError } from './io';

export const DEFAULT_CONFIG = 'seeds/packaging-line/handover.yaml';

export async function startCommand(options: { config?: string; port?: string; role?: string }): Promise<number> {
  const role = (options.role ?? 'all') as Role;
  if (!['all', 'api', 'worker'].includes(role)) throw new UsageError('--role must be all, api or worker');
  const port = Number(options.port ?? process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port "${options.port}" is not a port`);
  const config = loadConfigFile(resolve(options.config ?? process.env.HANDOVER_CONFIG ?? DEFAULT_CONFIG));
  const redis = redisSettings(process.env);
  const hub = await startHub({
    config,
    dataDir: resolve(process.env.HANDOVER_DATA_DIR ?? 'var'),
    port,
    host: process.env.HOST ?? '127.0.0.1',
    role,
    mappingsDir: resolve(process.env.HANDOVER_MAPPINGS_DIR ?? 'mappings'),
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    ...redis,
  });
  if (hub.url) process.stdout.write(`handover ${role} listening on ${hub.url}\n`);
  // A deployed mapping fix without a restart: SIGHUP loads the mapping files again (a file that fails
  // keeps its working version); the versions are kept before the next message is translated.
  const reload = () => {
    try {
      const { loaded, failed } = hub.context.mappings.reload();
      hub.context.logger.info({ loaded, failed: failed.map((failure) => failure.file) }, 'mappings reloaded (SIGHUP)');
    } catch (error) {
      // The directory itself could not be read (moved, a dangling link): the mappings in use stay.
      hub.context.logger.error({ err: error }, 'mappings not reloaded (SIGHUP)');
    }
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
      hub.stop().then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  // After a stop with Redis down, BullMQ and ioredis leave timers behind that would keep the process
  // alive for most of a minute; everything that matters is closed by now.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}
