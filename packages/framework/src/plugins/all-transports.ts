// Every transport this framework has, one line each: adding
// a mechanism is its folder plus one line here. Everything else takes them from
// TRANSPORT_PLUGINS (transport-plugins.ts).
export { udsPlugin } from '../transports/socket/uds.plugin';
export { tcpPlugin } from '../transports/socket/tcp.plugin';
export { shmPlugin } from '../transports/shm/shm.plugin';
export { mqueuePlugin } from '../transports/mqueue/mqueue.plugin';
export { fifoPlugin } from '../transports/fifo/fifo.plugin';
export { natsPlugin } from '../transports/nats/nats.plugin';
export { threadPlugin } from '../transports/thread/thread.plugin';
