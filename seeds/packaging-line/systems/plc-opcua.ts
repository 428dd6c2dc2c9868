/**
 * The filler's PLC as an OPC UA server (node-opcua) on 127.0.0.1: its PackML tags as the variables
 * ns=1;s=Line1.Filler.<tag> the hub's opcua connector binds, each change stamped with its plant
 * time as source timestamp. No security, anonymous access, as a PLC on a plant network often is.
 */
import { join } from 'node:path';
import { DataType, OPCUACertificateManager, OPCUAServer, StatusCodes, nodesets, type UAVariable } from 'node-opcua';
import type { SignalName, UnitSignals } from './plc-line';

/** The filler's tags and their OPC UA data types: 16-bit counters roll over at 65 536. */
const TAGS: Record<SignalName, DataType> = {
  State: DataType.Int32,
  Mode: DataType.Int32,
  GoodCount: DataType.UInt16,
  RejectCount: DataType.UInt16,
  StopReason: DataType.Int32,
};

/** The node id of a filler tag, as handover.yaml binds it. */
export const fillerNodeId = (tag: SignalName) => `ns=1;s=Line1.Filler.${tag}`;

export interface FillerServer {
  readonly endpointUrl: string;
  /** Sets the changed tags, each stamped with plant time `at`. */
  set(values: UnitSignals, changed: SignalName[], at: number): void;
  shutdown(): Promise<void>;
}

/** Starts the server on `port` with `initial` values stamped `at`; its PKI lives under `pkiDir`. */
export async function startFillerServer(
  port: number,
  pkiDir: string,
  initial: UnitSignals,
  at: number,
): Promise<FillerServer> {
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
    allowAnonymous: true,
    buildInfo: { productName: 'Packaging line PLC (simulated)', manufacturerName: 'Handover demo plant' },
    // A client asking for sampling interval 0 then gets every change: the plant clock runs fast.
    serverCapabilities: { minSupportedSampleRate: 0 },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const namespace = addressSpace.getOwnNamespace();
  const line = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Line1' });
  const filler = namespace.addObject({ componentOf: line, browseName: 'Filler' });
  const variables = new Map<SignalName, UAVariable>();
  for (const [tag, dataType] of Object.entries(TAGS) as [SignalName, DataType][]) {
    const variable = namespace.addVariable({
      componentOf: filler,
      browseName: tag,
      nodeId: `s=Line1.Filler.${tag}`,
      dataType: DataType[dataType],
      accessLevel: 'CurrentRead',
      userAccessLevel: 'CurrentRead',
      minimumSamplingInterval: 0,
    });
    variable.setValueFromSource({ dataType, value: initial[tag] }, StatusCodes.Good, new Date(at));
    variables.set(tag, variable);
  }
  await server.start();
  let stopped = false;
  return {
    endpointUrl: `opc.tcp://127.0.0.1:${port}`,
    set(values, changed, stamp) {
      const sourceTimestamp = new Date(stamp);
      for (const tag of changed)
        variables
          .get(tag)
          ?.setValueFromSource({ dataType: TAGS[tag], value: values[tag] }, StatusCodes.Good, sourceTimestamp);
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
