import type { CallContext } from './call-context';

/**
 * Decides whether a call may reach its handler: return false (ForbiddenError at the caller)
 * or throw an error of your own. Runs before interceptors and validation, with the caller's
 * kernel identity in `context.peer` (uid, gid, pid) where the mechanism knows it.
 */
export interface CallGuard {
  canActivate(context: CallContext, args: readonly unknown[]): boolean | Promise<boolean>;
}

/**
 * Wraps a call, around-style: call `next()` (with other arguments, if you like) to run the
 * rest of the pipeline and the handler, and return its result or another. Not calling it
 * answers from the interceptor (a cache); catching what it throws maps errors.
 */
export interface CallInterceptor {
  intercept(context: CallContext, args: unknown[], next: (args?: unknown[]) => Promise<unknown>): unknown;
}

/** A guard or interceptor: an instance, or a class the service's container builds (so it may @inject). */
export type PipelineRef<T> = T | (abstract new (...args: never[]) => T);
export type GuardRef = PipelineRef<CallGuard>;
export type InterceptorRef = PipelineRef<CallInterceptor>;

/** Guards and interceptors for every endpoint of a service (`bootstrap(Service, { guards, interceptors })`). */
export interface PipelineOptions {
  guards?: GuardRef[];
  interceptors?: InterceptorRef[];
}
