// For hostmesh's own CLI, benchmarks and fuzzers: the parts below the user API. No stability
// promise: what users write against is the package root ('@hostmesh/framework').
import 'reflect-metadata';

export { exploreService, eventDefinition, type ServiceDefinition, type EndpointDefinition, type EventDefinition } from './metadata/explorer';
export * from './binding';
export type { DiagnosticSnapshot, RouteSnapshot } from './runtime/diagnostics';
export type { ControlMessage } from './runtime/control-channel';
export { OptionReader } from './core/options';
export { typescriptExecArgv } from './core/typescript-entry';
export { ServiceRegistry } from './discovery/service-registry';
export { REMOTE_DIRECTORY, type RemoteDirectory } from './discovery/remote-directory';
export type { ServiceDescriptor, RouteDescriptor, SubscriptionDescriptor } from './discovery/descriptor';
export { NatsDirectory, natsDirectoryModule } from './discovery/nats-directory';
export { isProcessAlive, processStartTime } from '@hostmesh/native';
export { createMeshContainer, coreModule } from './runtime/container';
export { transportContext, MANIFEST_LIMITS } from './config/config';
export type { ManifestLimit } from './transports/contract/plugin';
export { TransportRegistry, type TransportSpec } from './transports/contract/transport-registry';
export { generateDevCerts, parseDevCertHosts, type DevCertHost, type DevCerts, type DevCertsOptions } from './core/dev-certs';
export { loadTlsMaterial, isLoopback, type TlsMaterial } from './transports/kit/tls-options';
export { FifoEndpoint, parseRequestLine, type Envelope } from './shell/fifo-endpoint';
export * as protocol from './protocol';
export { routeId as routeIdOf } from './protocol/route-id';
export { RpcClient, type RpcClientOptions } from './rpc/rpc-client';
export { RpcServer } from './rpc/rpc-server';
export { RouteMetrics, LatencyHistogram } from './rpc/metrics';
export type { EndpointRoute, EventRoute } from './rpc/routes';
export { inProcessPair } from './testing/in-process-connection';
