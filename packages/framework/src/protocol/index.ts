export * from './frame';
export { FrameParser } from './frame-parser';
export { FrameCodec, encodeStatelessFrame, isRawBytes } from './codec';
export { routeId, endpointRoute } from './route-id';
