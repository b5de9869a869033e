const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;

/**
 * 32-bit FNV-1a of a route name's UTF-8 bytes. Both ends derive route ids from names,
 * so no handshake is needed; collisions inside one service are refused at bootstrap.
 */
export function routeId(name: string): number {
  let hash = OFFSET;
  const bytes = Buffer.from(name, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, PRIME);
  }
  return hash >>> 0;
}

export function endpointRoute(service: string, endpoint: string): string {
  return `${service}.${endpoint}`;
}
