/**
 * Test support: a real node-opcua server on 127.0.0.1 with a small filler line in its address space,
 * whose values tests change, and whose sessions and subscriptions tests count.
 */
import { join } from 'node:path';
import {
  DataType,
  OPCUACertificateManager,
  OPCUAServer,
  StatusCodes,
  nodesets,
  type StatusCode,
  type UAVariable,
} from 'node-opcua';

/** The variables the test server exposes, under `ns=1;s=Line1.Filler.<name>`. */
export const FILLER_VARIABLES = {
  Running: { dataType: DataType.Boolean, value: false, writable: false },
  Counter: { dataType: DataType.Int32, value: 0, writable: false },
  FaultCode: { dataType: DataType.String, value: '', writable: false },
  Setpoint: { dataType: DataType.Double, value: 100, writable: true },
  // PackML state and mode numbers, counters and the stop reason code, as the context engine reads them.
  State: { dataType: DataType.Int32, value: 2, writable: false },
  Mode: { dataType: DataType.Int32, value: 1, writable: false },
  GoodCount: { dataType: DataType.UInt16, value: 0, writable: false },
  RejectCount: { dataType: DataType.UInt16, value: 0, writable: false },
  StopReason: { dataType: DataType.Int32, value: 0, writable: false },
} as const;
export type FillerVariable = keyof typeof FILLER_VARIABLES;

/** Node id of a filler variable. */
export const nodeIdOf = (name: FillerVariable | string) => `ns=1;s=Line1.Filler.${name}`;

export { freePort } from '../../test/support/hub-process';

/** A started test server and what tests do with it. */
export interface TestServer {
  readonly port: number;
  readonly endpointUrl: string;
  readonly server: OPCUAServer;
  /** Sets a variable's value as the device would, with a fresh source timestamp. */
  set(name: FillerVariable, value: unknown, statusCode?: StatusCode): void;
  value(name: FillerVariable): unknown;
  sessionCount(): number;
  /** Subscriptions per open session. */
  subscriptionCounts(): number[];
  /** Closes every session as the server would on its own (timeout, administrator). */
  closeSessions(): void;
  /** Deletes every subscription of every session, leaving the sessions open. */
  deleteSubscriptions(): void;
  /** Stops the server (once; later calls do nothing). */
  shutdown(): Promise<void>;
}

/** Starts a server on `port`, its PKI under `pkiDir` (kept between restarts, so its certificate is reused). */
export async function startTestServer(port: number, pkiDir: string): Promise<TestServer> {
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: join(pkiDir, 'server'),
    automaticallyAcceptUnknownCertificate: true,
    keySize: 2048,
  });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(pkiDir, 'user'), keySize: 2048 });
  const server = new OPCUAServer({
    port,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    alternateHostname: ['localhost'],
    nodeset_filename: [nodesets.standard],
    serverCertificateManager,
    userCertificateManager,
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const namespace = addressSpace.getOwnNamespace();
  const filler = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Filler' });
  const variables = new Map<FillerVariable, UAVariable>();
  for (const [name, spec] of Object.entries(FILLER_VARIABLES) as [
    FillerVariable,
    (typeof FILLER_VARIABLES)[FillerVariable],
  ][]) {
    const access = spec.writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead';
    const variable = namespace.addVariable({
      componentOf: filler,
      browseName: name,
      nodeId: `s=Line1.Filler.${name}`,
      dataType: DataType[spec.dataType],
      accessLevel: access,
      userAccessLevel: access,
    });
    variable.setValueFromSource({ dataType: spec.dataType, value: spec.value });
    variables.set(name, variable);
  }
  await server.start();
  const sessions = () => server.engine.getSessions();
  let stopped = false;
  return {
    port,
    endpointUrl: `opc.tcp://127.0.0.1:${port}`,
    server,
    set(name, value, statusCode = StatusCodes.Good) {
      variables.get(name)!.setValueFromSource({ dataType: FILLER_VARIABLES[name].dataType, value }, statusCode);
    },
    value: (name) => variables.get(name)!.readValue().value.value,
    sessionCount: () => server.engine.currentSessionCount,
    subscriptionCounts: () => sessions().map((session) => session.currentSubscriptionCount),
    closeSessions() {
      for (const session of sessions()) server.engine.closeSession(session.authenticationToken, true, 'Terminated');
    },
    deleteSubscriptions() {
      for (const session of sessions()) {
        for (const subscription of session.publishEngine.subscriptions) session.deleteSubscription(subscription.id);
      }
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      await server.shutdown(0);
      await serverCertificateManager.dispose();
      await userCertificateManager.dispose();
    },
  };
}
