import type { ServiceDescriptor } from './descriptor';

/**
 * Where the registry learns of services that are not in this host's runtime directory (the
 * NATS transport provides one: docs/nats.md, "Discovery"). Optional: without it the registry
 * is the directory alone.
 */
export interface RemoteDirectory {
  /** Services announced elsewhere, as last heard of (possibly including this host's own). */
  list(): Promise<ServiceDescriptor[]>;
  /** Makes a local service known to the others (ignored when it has nothing they can reach). */
  announce(descriptor: ServiceDescriptor): Promise<void>;
  withdraw(service: string, instance: string): Promise<void>;
  /** Calls `listener` when a remote service appears or goes. */
  watch(listener: () => void): () => void;
  close(): Promise<void>;
  /** Why the directory cannot see the other hosts, when retrying cannot help (refused credentials, TLS). */
  problem?(): Error | undefined;
}

export const REMOTE_DIRECTORY = Symbol.for('hostmesh:remote-directory');
