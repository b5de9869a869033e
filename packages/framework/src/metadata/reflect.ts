import 'reflect-metadata';

/**
 * Appends to a list kept on a class, copying an inherited list first so a subclass
 * never writes into its parent's metadata.
 */
export function appendClassMetadata<T>(key: string, target: Function, entry: T): void {
  const own = Reflect.getOwnMetadata(key, target) as T[] | undefined;
  const list = own ?? [...((Reflect.getMetadata(key, target) as T[] | undefined) ?? [])];
  list.push(entry);
  if (!own) Reflect.defineMetadata(key, list, target);
}

export function readClassList<T>(key: string, target: Function): readonly T[] {
  return (Reflect.getMetadata(key, target) as T[] | undefined) ?? [];
}

export function readClassValue<T>(key: string, target: Function): T | undefined {
  return Reflect.getMetadata(key, target) as T | undefined;
}
