export { defineContract, definedContracts, type Contract } from './contract';
export { clientOf, type Client, type CallOptions } from './client';
