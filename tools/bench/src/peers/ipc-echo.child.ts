/**
 * The child_process IPC peer: forked by ipc-target with `serialization: 'advanced'`, it
 * sends every message it gets back to its parent as it came ([correlation id, payload]).
 */
if (!process.send) {
  process.stderr.write('ipc-echo.child must be started with fork() (it needs an IPC channel)\n');
  process.exit(1);
}
const send = process.send.bind(process);
process.on('message', (message) => {
  send(message);
});
// The parent went away (closed the channel, or died): nothing left to echo to.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
send('ready');

export {};
