import { MessageQueue } from '../mqueue';

// Sends one message per priority given on the command line, in that order, then exits.
const [name, ...priorities] = process.argv.slice(2);
const queue = MessageQueue.open(name!);
for (const priority of priorities) {
  if (!queue.send(Buffer.from(`priority ${priority}`), Number(priority))) throw new Error('queue full');
}
queue.close();
console.log(`sent ${priorities.length}`);
