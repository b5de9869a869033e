import { join } from 'node:path';
import { PosixError } from './posix-error';

/** The addon's exports, as src/binding.cc registers them. Callers go through the wrappers. */
export interface NativeAddon {
  setErrorClass(cls: typeof PosixError): void;
  shmCreate(name: string, size: number, ownerPid: number, ownerStartTime: number, reserve: boolean, expose?: number): Buffer;
  shmReserve(name: string, offset: number, length: number): void;
  shmOpen(name: string, expose?: number): Buffer;
  shmReadHeader(name: string): Buffer;
  shmUnlink(name: string): void;
  shmDetach(buffer: Uint8Array): void;
  shmLease(mapping: Buffer, offset: number, length: number, wordOffset: number, expected: number): [ArrayBuffer, number];
  shmFrameLease(length: number): [ArrayBuffer, number];
  shmFrameBlocks(trim?: boolean): number;
  shmEndLease(id: number, lease: ArrayBuffer): void;
  shmKeepLease(id: number): void;
  shmLeasedBytes(mapping: Buffer): number;
  shmMappedBytes(mapping: Buffer): number;
  shmSlice(mapping: Buffer, offset: number, length: number): ArrayBuffer;
  FdWatcher: new (fd: number, callback: (status: number, events: number) => void) => NativeFdWatcher;
  doorbellOpen(path: string): number;
  eventfd(): number;
  doorbellRing(fd: number): void;
  doorbellDrain(fd: number): number;
  closeFd(fd: number): void;
  spinWhileEqual(buffer: Buffer, byteOffset: number, value: number, budgetNs: number, yieldEveryNs: number): boolean;
  mqOpen(name: string, create: boolean, exclusive: boolean, maxMessages: number, messageSize: number): number;
  mqSend(fd: number, message: Buffer, priority: number): boolean;
  mqReceive(fd: number, buffer: Buffer, out: Uint32Array): number;
  mqAttributes(fd: number): { maxMessages: number; messageSize: number; currentMessages: number };
  mqClose(fd: number): void;
  mqUnlink(name: string): void;
  NamedSemaphore: NativeSemaphoreClass;
  mkfifo(path: string, mode: number): void;
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  pidfdOpen(pid: number): number;
  discardPages(buffer: Buffer): number;
}

export interface NativeFdWatcher {
  start(events: number): void;
  stop(): void;
  close(): void;
  setRef(ref: boolean): void;
}

export interface NativeSemaphore {
  post(): void;
  tryWait(): boolean;
  timedWait(timeoutMs: number): Promise<boolean>;
  value(): number;
  close(): void;
}

export interface NativeSemaphoreClass {
  new (name: string, create: boolean, exclusive: boolean, initialValue: number): NativeSemaphore;
  unlink(name: string): void;
}

function load(): NativeAddon {
  const path = join(__dirname, '..', 'build', 'Release', 'hostmesh_native.node');
  let loaded: NativeAddon;
  try {
    loaded = require(path) as NativeAddon;
  } catch (error) {
    throw new Error(
      `@hostmesh/native: cannot load ${path} (${(error as Error).message}). ` +
        'Build it with `npm rebuild @hostmesh/native` (needs python3, make, g++ and the headers of this node).',
      { cause: error },
    );
  }
  loaded.setErrorClass(PosixError);
  return loaded;
}

export const native: NativeAddon = load();
