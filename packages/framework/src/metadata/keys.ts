/** Reflect-metadata keys, namespaced so they never clash with other libraries'. */
export const SERVICE_METADATA = 'hostmesh:service';
export const ENDPOINTS_METADATA = 'hostmesh:endpoints';
export const EVENT_TYPE_METADATA = 'hostmesh:event-type';
export const SUBSCRIPTIONS_METADATA = 'hostmesh:subscriptions';
export const LIFECYCLE_METADATA = 'hostmesh:lifecycle';
export const SIGNALS_METADATA = 'hostmesh:signals';
export const CONTEXT_PARAMS_METADATA = 'hostmesh:context-params';
export const GUARDS_METADATA = 'hostmesh:guards';
export const INTERCEPTORS_METADATA = 'hostmesh:interceptors';
