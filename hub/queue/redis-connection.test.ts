import { ConfigError } from '../config/errors';
import { parseClusterNodes, redisSettings } from './redis-connection';

describe('REDIS_CLUSTER_NODES', () => {
  it('reads host:port seed nodes separated by commas, IPv6 in brackets', () => {
    expect(parseClusterNodes('10.0.0.1:7000, redis-b.plant.local:7001,[::1]:7002')).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.plant.local', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it.each([
    ['redis-b', '"redis-b" is not host:port'],
    ['10.0.0.1:7000,', 'has an empty entry'],
    ['10.0.0.1:0', '"10.0.0.1:0" is not host:port'],
    ['10.0.0.1:65536', '"10.0.0.1:65536" is not host:port'],
    ['redis://10.0.0.1:7000', '"redis://10.0.0.1:7000" is not host:port'],
    ['10.0.0.1 7000', '"10.0.0.1 7000" is not host:port'],
  ])('refuses %j with REDIS_CLUSTER_NODES_INVALID', (text, reason) => {
    const error = (() => {
      try {
        parseClusterNodes(text);
      } catch (thrown) {
        return thrown;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('REDIS_CLUSTER_NODES_INVALID');
    expect(error.problems[0]).toMatchObject({ path: 'REDIS_CLUSTER_NODES' });
    expect(error.problems[0]!.reason).toContain(reason);
  });

  it('takes the password from REDIS_PASSWORD, and never goes with REDIS_URL', () => {
    expect(redisSettings({ REDIS_CLUSTER_NODES: 'a:1,b:2', REDIS_PASSWORD: 'secret' })).toEqual({
      redisCluster: {
        nodes: [
          { host: 'a', port: 1 },
          { host: 'b', port: 2 },
        ],
        password: 'secret',
      },
    });
    expect(redisSettings({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: '' })).toEqual({
      redisUrl: 'redis://r:6379',
    });
    expect(redisSettings({})).toEqual({});
    expect(() => redisSettings({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'a:1' })).toThrow(
      /REDIS_CLUSTER_NODES_INVALID[\s\S]*is set together with REDIS_URL/,
    );
  });
});
