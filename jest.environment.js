// jest's node environment hands tests the host realm's Uint8Array/ArrayBuffer (for Buffer)
// but the sandbox's own Float64Array, Int32Array, …, so `typedArray instanceof TypedArray`
// fails across them and libraries such as msgpackr stop recognising typed arrays. Give the
// sandbox the host realm's typed arrays too, so tests see what a real process sees.
const { TestEnvironment } = require('jest-environment-node');

const TYPED = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
  'ArrayBuffer',
  'SharedArrayBuffer',
];

class HostRealmTypedArrays extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED) this.global[name] = globalThis[name];
  }
}

module.exports = HostRealmTypedArrays;
