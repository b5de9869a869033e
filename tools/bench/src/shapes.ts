import type { PayloadShape } from './result';
import type { BenchTarget } from './targets';

export const SHAPES: readonly PayloadShape[] = ['buffer', 'object'];

/** `--shapes buffer,object`: every name known, none repeated, at least one. */
export function parseShapes(text: string | undefined): PayloadShape[] {
  if (text === undefined) return [...SHAPES];
  const names = text.split(',').filter(Boolean);
  const unknown = names.filter((name) => !SHAPES.includes(name as PayloadShape));
  if (names.length === 0 || unknown.length) throw new Error(`--shapes '${text}': expected a comma-separated list of ${SHAPES.join(', ')}`);
  return SHAPES.filter((shape) => names.includes(shape));
}

/**
 * One target sending one shape. `view` is a BenchTarget whose `roundTrip(data)` sends
 * that shape, so the workloads run lanes as they run targets, interleaved alike.
 */
export interface Lane {
  target: BenchTarget;
  shape: PayloadShape;
  view: BenchTarget;
}

/** Why `target` has no object shape, or undefined when it has one. */
export function objectUnsupported(target: BenchTarget): string | undefined {
  if (target.roundTripObject) return undefined;
  return target.objectUnsupported ?? 'its client sends bytes only';
}

/** Every target's lanes, a target's shapes side by side; a shape a target cannot send has none. */
export function lanes(targets: BenchTarget[], shapes: readonly PayloadShape[]): Lane[] {
  return targets.flatMap((target) =>
    shapes.flatMap((shape): Lane[] => {
      if (shape === 'buffer') return [{ target, shape, view: target }];
      const send = target.roundTripObject?.bind(target);
      if (!send) return [];
      // A fresh object per call, as an application builds its requests; the id tells them apart.
      let id = 0;
      const view: BenchTarget = { name: target.name, roundTrip: (data) => send({ op: 'echo', id: id++, data }), close: () => target.close() };
      return [{ target, shape, view }];
    }),
  );
}
