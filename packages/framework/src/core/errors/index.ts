export * from './hostmesh-error';
export * from './errors';
export * from './wire';
