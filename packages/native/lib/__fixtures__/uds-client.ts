import { connect } from 'node:net';

// Connects to a Unix socket, prints its own pid, and stays until the server hangs up.
const socket = connect(process.argv[2]!, () => console.log(`connected ${process.pid}`));
socket.on('close', () => process.exit(0));
