/**
 * Every kernel object hostmesh creates is named `/hm.<uid>.<namespace>.<name>`: per user
 * and per namespace, so users and deployments never collide, and the janitor can find
 * exactly its own objects.
 */
const PART = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export function uid(): number {
  return process.getuid?.() ?? 0;
}

/** The prefix (without the leading '/') shared by this user's objects. */
export function userPrefix(): string {
  return `hm.${uid()}.`;
}

export function objectName(namespace: string, name: string): string {
  for (const [what, value] of [
    ['namespace', namespace],
    ['name', name],
  ] as const) {
    if (typeof value !== 'string' || !PART.test(value) || value.includes('..')) {
      throw new TypeError(`${what} must be 1-128 letters, digits, '_', '-' or '.', got ${JSON.stringify(value)}`);
    }
  }
  return `/${userPrefix()}${namespace}.${name}`;
}

/** POSIX object names are '/' plus one path component of at most 255 bytes (NAME_MAX). */
export function requirePosixName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || !/^\/[^/\0]{1,250}$/.test(name)) {
    throw new TypeError(`${what} must be '/' followed by 1-250 characters without '/', got ${JSON.stringify(name)}`);
  }
  return name;
}
