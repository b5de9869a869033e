// What users of hostmesh write against. Testing helpers: '@hostmesh/framework/testing'.
// What hostmesh's own CLI and tools use besides: '@hostmesh/framework/internal' (no stability promise).
import 'reflect-metadata';

export * from './core/errors';
export * from './decorators';
export * from './contracts';
export type { BindingRequest, TransportKind, ServiceSignal, EndpointOptions, EventTypeOptions, ServiceOptions } from './metadata/types';
export { BINDING_REQUESTS } from './metadata/types';
export { CallContext } from './contracts/call-context';
export type { CallGuard, CallInterceptor, GuardRef, InterceptorRef, PipelineOptions } from './contracts/call-pipeline';
export type { CallMetadata } from './protocol/metadata';
// Large Buffers over shared memory: views with a lease (docs/shared-memory.md).
export { releaseBuffer, retainBuffer } from './rpc/buffer-leases';
export { EventBus, type PublishOptions } from './events/event-bus';
export { ClientFactory, type ClientOptions } from './client/client-factory';
export { ServiceHost, bootstrap, type HostOptions } from './runtime/service-host';
export { WorkerService, type WorkerServiceOptions } from './runtime/worker-host';
export { ServiceGroup, type GroupMember, type ServiceGroupOptions } from './runtime/service-group';
export { Mesh } from './runtime/mesh';
export { SharedLock, type LockHandle } from './runtime/shared-lock';
// The namespace's private directory (0700): where a service keeps files of its own.
export { RuntimeDir } from './core/runtime-dir';
export { resolveConfig, MESH_CONFIG, type MeshOptions, type MeshConfig, type ManifestLimitName } from './config/config';
export type { PeerOptions, PeerIdentity, PeerAuthorizer } from './core/peer-policy';
export type { TlsFileOptions } from './core/tls-files';
export type { EndpointPolicy } from './config/endpoint-policies';
export { LOGGER, ConsoleLogger, describeError, type Logger, type LogLevel, type LogSink } from './core/logger';

// Writing a transport of one's own: a plugin, its options, its connections.
export { TRANSPORT_PLUGINS, TRANSPORT_KINDS, pluginOf, type TransportOptions, type TransportOptionsInput } from './plugins/transport-plugins';
export {
  TRANSPORT_CONTEXT,
  transportPlugin,
  type TransportPlugin,
  type TransportCapabilities,
  type TransportContext,
  type RawChannel,
  type RawChannelContext,
  type RawChannelFactory,
} from './transports/contract/plugin';
export {
  TRANSPORT,
  NO_HANDLER,
  type Transport,
  type TransportKinds,
  type TransportAddress,
  type TransportServer,
  type Connection,
  type ConnectionHandler,
  type PeerInfo,
  type ListenRequest,
  type ConnectRequest,
} from './transports/contract/transport';

export { inject, injectable, ContainerModule } from 'inversify';
