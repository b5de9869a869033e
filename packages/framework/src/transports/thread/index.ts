export { ThreadTransport, type ThreadAddress } from './thread.transport';
export { threadPlugin } from './thread.plugin';
export { announceThreadExit, THREAD_GONE_CHANNEL } from './thread-gone';
export type { ThreadOptions, ThreadOptionsInput } from './thread.options';
