import 'reflect-metadata';

export * from './errors';
export * from './decorators';
export * from './contracts';
export type {
  BindingRequest,
  TransportKind,
  ServiceSignal,
  EndpointOptions,
  EventTypeOptions,
  ServiceOptions,
} from './metadata/types';
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
export { resolveConfig, MESH_CONFIG, type MeshOptions, type MeshConfig, type PeerOptions, type PeerIdentity, type PeerAuthorizer } from './runtime/config';
export { LOGGER, ConsoleLogger, describeError, type Logger, type LogLevel, type LogSink } from './runtime/logger';
export { RuntimeDir } from './runtime/runtime-dir';
export { ServiceRegistry } from './runtime/service-registry';
export { REMOTE_DIRECTORY, type RemoteDirectory } from './runtime/remote-directory';
export type { ServiceDescriptor, RouteDescriptor, SubscriptionDescriptor } from './runtime/descriptor';
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
} from './transports/transport';
export { TransportRegistry, type TransportSpec } from './transports/transport-registry';
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
