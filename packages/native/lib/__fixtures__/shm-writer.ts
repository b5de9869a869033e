import { ShmSegment } from '../shm-segment';

// Opens a segment by name, fills its data with a pattern, and says so.
const [name, fill] = process.argv.slice(2);
const segment = ShmSegment.open(name!);
segment.data.fill(Number(fill));
console.log(`filled ${segment.size} owner ${segment.owner.pid}`);
