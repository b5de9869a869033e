import 'reflect-metadata';

export * from './core/errors';
export * from './decorators';
export * from './contracts';
export type { BindingRequest, TransportKind, ServiceSignal, EndpointOptions, EventTypeOptions, ServiceOptions } from './metadata/types';
export { BINDING_REQUESTS } from './metadata/types';
export { exploreService, eventDefinition, type ServiceDefinition, type EndpointDefinition, type EventDefinition } from './metadata/explorer';
export * from './binding';
export { CallContext } from './rpc/call-context';
export { EventBus, type PublishOptions } from './events/event-bus';
export { ClientFactory, type ClientOptions } from './client/client-factory';
export { ServiceHost, bootstrap, type HostOptions } from './runtime/service-host';
export { Mesh } from './runtime/mesh';
export { SharedLock, type LockHandle } from './runtime/shared-lock';
export type { DiagnosticSnapshot, RouteSnapshot } from './runtime/diagnostics';
export type { ControlMessage } from './runtime/control-channel';
export { resolveConfig, MESH_CONFIG, type MeshOptions, type MeshConfig } from './config/config';
export type { PeerOptions, PeerIdentity, PeerAuthorizer } from './core/peer-policy';
export type { TlsFileOptions } from './core/tls-files';
export { generateDevCerts, parseDevCertHosts, type DevCertHost, type DevCerts, type DevCertsOptions } from './core/dev-certs';
export { loadTlsMaterial, isLoopback, type TlsMaterial } from './transports/kit/tls-options';
export { TRANSPORT_PLUGINS, TRANSPORT_KINDS, pluginOf, type TransportOptions, type TransportOptionsInput } from './plugins/transport-plugins';
export { TRANSPORT_CONTEXT, transportPlugin, type TransportPlugin, type TransportCapabilities, type TransportContext } from './transports/contract/plugin';
export { FifoEndpoint, parseRequestLine, type Envelope } from './shell/fifo-endpoint';
export { NatsDirectory, natsDirectoryModule } from './discovery/nats-directory';
export { LOGGER, ConsoleLogger, describeError, type Logger, type LogLevel, type LogSink } from './core/logger';
export { RuntimeDir } from './core/runtime-dir';
export { ServiceRegistry } from './discovery/service-registry';
export { REMOTE_DIRECTORY, type RemoteDirectory } from './discovery/remote-directory';
export type { ServiceDescriptor, RouteDescriptor, SubscriptionDescriptor } from './discovery/descriptor';
export { isProcessAlive, processStartTime } from '@hostmesh/native';
export { createMeshContainer, coreModule } from './runtime/container';
export { inProcessPair } from './testing/in-process-connection';
export {
  TRANSPORT,
  type Transport,
  type TransportAddress,
  type TransportServer,
  type Connection,
  type ConnectionHandler,
  type PeerInfo,
  type ListenRequest,
  type ConnectRequest,
} from './transports/contract/transport';
export { TransportRegistry, type TransportSpec } from './transports/contract/transport-registry';
export * from './transports/socket';
export * from './transports/shm';
export * from './transports/mqueue';
export * from './transports/fifo';
export * from './transports/nats';
export * as protocol from './protocol';
export { routeId as routeIdOf } from './protocol/route-id';
export { RpcClient, type RpcClientOptions } from './rpc/rpc-client';
export { RpcServer } from './rpc/rpc-server';
export { RouteMetrics, LatencyHistogram } from './rpc/metrics';
export type { EndpointRoute, EventRoute } from './rpc/routes';
export { inject, injectable, ContainerModule } from 'inversify';
