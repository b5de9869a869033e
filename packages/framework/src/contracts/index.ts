export { defineContract, definedContracts, type Contract, type ContractApi, type ApiOf, type ContractSchemas, type EndpointSchemas } from './contract';
export { clientOf, type Client, type CallOptions } from './client';
