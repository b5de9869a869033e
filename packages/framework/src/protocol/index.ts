export * from './frame';
export { FrameParser } from './frame-parser';
export { FrameCodec, encodeStatelessFrame } from './codec';
export { routeId, endpointRoute } from './route-id';
