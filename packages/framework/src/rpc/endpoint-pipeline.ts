import type { CallContext } from '../contracts/call-context';
import type { CallGuard, CallInterceptor } from '../contracts/call-pipeline';
import type { EndpointSchemas } from '../contracts/contract';
import { ForbiddenError } from '../core/errors/errors';
import { isPromiseLike } from './routes';
import { endpointValidators } from './validation';

/** One stage of a call: the arguments as they reach it, and the call's context (null when none was needed). */
type Stage = (args: unknown[], context: CallContext | null) => unknown;

export interface EndpointParts {
  /** `service.endpoint` */
  route: string;
  instance: object;
  method: (...args: unknown[]) => unknown;
  /** Where @Ctx() wants the CallContext, or -1. */
  contextIndex: number;
  guards: readonly CallGuard[];
  interceptors: readonly CallInterceptor[];
  schemas: EndpointSchemas | undefined;
}

/**
 * Composes what runs for one call, in Nest's order: guards, then interceptors (outermost
 * first), then argument validation, the handler, and result validation. An endpoint with
 * none of them is the bare method call: nothing is added to its path.
 */
export function endpointPipeline(parts: EndpointParts): { invoke: Stage; needsContext: boolean } {
  const { instance, method, contextIndex, route } = parts;
  let stage: Stage =
    contextIndex >= 0
      ? (args, context) => {
          args[contextIndex] = context;
          return method.apply(instance, args);
        }
      : (args) => method.apply(instance, args);
  const validators = endpointValidators(route, parts.schemas);
  if (validators?.result) stage = checkingResult(stage, validators.result);
  if (validators?.args) stage = checkingArguments(stage, validators.args);
  for (let i = parts.interceptors.length - 1; i >= 0; i--) stage = intercepted(stage, parts.interceptors[i]!);
  if (parts.guards.length > 0) stage = guarded(stage, route, parts.guards);
  return { invoke: stage, needsContext: contextIndex >= 0 || parts.guards.length > 0 || parts.interceptors.length > 0 };
}

function checkingResult(inner: Stage, check: (value: unknown) => unknown): Stage {
  return (args, context) => {
    const result = inner(args, context);
    return isPromiseLike(result) ? Promise.resolve(result).then(check) : check(result);
  };
}

function checkingArguments(inner: Stage, check: (args: unknown[]) => unknown[] | Promise<unknown[]>): Stage {
  return (args, context) => {
    const checked = check(args);
    return isPromiseLike(checked) ? checked.then((valid) => inner(valid, context)) : inner(checked, context);
  };
}

function intercepted(inner: Stage, interceptor: CallInterceptor): Stage {
  return (args, context) =>
    interceptor.intercept(context!, args, (next = args) => {
      try {
        return Promise.resolve(inner(next, context));
      } catch (error) {
        return Promise.reject(error);
      }
    });
}

function guarded(inner: Stage, route: string, guards: readonly CallGuard[]): Stage {
  const refuse = (guard: CallGuard) => {
    const name = guard.constructor?.name || 'a guard';
    return new ForbiddenError(`${route}: refused by ${name}`, { data: { route, guard: name } });
  };
  // Guards run one after another; the chain stays synchronous while they answer synchronously.
  const from = (index: number, args: unknown[], context: CallContext): unknown => {
    for (let i = index; i < guards.length; i++) {
      const verdict = guards[i]!.canActivate(context, args);
      if (isPromiseLike(verdict)) {
        return Promise.resolve(verdict).then((allowed) => {
          if (allowed !== true) throw refuse(guards[i]!);
          return from(i + 1, args, context);
        });
      }
      if (verdict !== true) throw refuse(guards[i]!);
    }
    return inner(args, context);
  };
  return (args, context) => from(0, args, context!);
}
