export {
  defineContract,
  definedContracts,
  type Contract,
  type ContractApi,
  type ApiOf,
  type ContractSchemas,
  type EndpointSchemas,
  type EndpointDeclarations,
} from './contract';
export { clientOf, type Client, type CallOptions, type ClientStream, type ClientResult } from './client';
