import { defineContract } from '@hostmesh/framework';

export interface EchoApi {
  ping(): number;
  received(): number;
}
export const Echo = defineContract<EchoApi>('echo');
