export { describeTransportConformance } from './conformance';
export { spawnService, reapAll, SpawnedService, typescriptExecArgv, sleep, type SpawnOptions, type Exit } from './spawn-service';
export { tempRuntimeDir } from './temp-runtime';
export { registerRawChannel, rawChannelFactory, type RawChannel, type RawChannelFactory } from './raw-channel';
export { createTestHost, type TestHost } from './test-host';
export { inProcessPair } from './in-process-connection';
export { testCerts, registerTlsRawChannel, type TestCerts } from './certs';
export { startNatsServer, useNatsServer, findNatsServer, type NatsServerProcess } from './nats-server';
export { NetnsLab, canUseNetns, netnsUnavailableReason, linkDown, linkUp, type VethLink } from './netns';
