import { defineContract, EventType } from '@hostmesh/framework';

export interface SoakApi {
  /** Returns the call's tag and a checksum of the payload, then the payload itself: the caller checks all three. */
  echo(tag: number, payload: Buffer): [number, number, Buffer];
  /** Events received per publisher, to prove none was lost. */
  received(): Record<string, number>;
}
export const Soak = defineContract<SoakApi>('soak');

@EventType('soak.tick')
export class SoakTick {
  constructor(
    readonly publisher: string,
    readonly seq: number,
    readonly padding: Buffer,
  ) {}
}

/** A cheap checksum both ends compute: a mismatch means a reply carried someone else's bytes. */
export function checksum(bytes: Uint8Array): number {
  let sum = bytes.length;
  for (let i = 0; i < bytes.length; i += 61) sum = (sum * 31 + bytes[i]!) | 0;
  return sum;
}
