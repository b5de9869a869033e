import { NamedSemaphore } from '../semaphore';

// Takes the semaphore, says so, holds it for `holdMs`, then gives it back.
const [name, holdMs] = process.argv.slice(2);
const semaphore = NamedSemaphore.open(name!);
if (!semaphore.tryWait()) throw new Error('expected to take the semaphore');
console.log('holding');
setTimeout(() => {
  semaphore.post();
  console.log('released');
  semaphore.close();
}, Number(holdMs));
