import { HostmeshError } from './hostmesh-error';
import * as builtIn from './errors';

/** How an error travels in the body of an error frame. */
export interface WireError {
  name: string;
  message: string;
  code: string;
  retryable: boolean;
  data?: Record<string, unknown>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

type FrameworkErrorClass = (abstract new (...args: never[]) => HostmeshError) & { readonly code: string };
const byCode = new Map<string, FrameworkErrorClass>();
const byName = new Map<string, ErrorClass>();
for (const cls of Object.values(builtIn)) {
  if (cls !== builtIn.RemoteError) byCode.set(cls.code, cls);
}

/**
 * Lets errors of a user class arrive as instances of that class on the caller's side
 * (matched by class name). Unregistered errors arrive as `RemoteError` with the same
 * name, message, code and retryable flag.
 */
export function registerErrorType(cls: ErrorClass): void {
  byName.set(cls.name, cls);
}

/** Whether `error` is an instance of a class given to registerErrorType. */
export function isRegisteredErrorType(error: unknown): boolean {
  return error instanceof Error && byName.get(error.name) === error.constructor;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; retryable?: unknown; data?: unknown };
    return {
      name: e.name,
      message: e.message,
      code: typeof e.code === 'string' ? e.code : HostmeshError.is(e) ? e.code : 'REMOTE_ERROR',
      retryable: e.retryable === true,
      data: isRecord(e.data) ? e.data : undefined,
    };
  }
  return { name: 'Error', message: String(error), code: 'REMOTE_ERROR', retryable: false };
}

/** Rebuilds a typed error from its wire form; never throws, whatever the input. */
export function fromWireError(value: unknown, context: string): Error {
  if (!isRecord(value) || typeof value.message !== 'string') {
    return new builtIn.FrameError(`${context}: malformed error body`);
  }
  const name = typeof value.name === 'string' ? value.name : 'Error';
  const code = typeof value.code === 'string' ? value.code : 'REMOTE_ERROR';
  const retryable = value.retryable === true;
  const data = isRecord(value.data) ? value.data : undefined;
  const frameworkClass = byCode.get(code);
  if (frameworkClass && frameworkClass.name === name) {
    return revive(frameworkClass, { name, message: value.message, code, retryable, data });
  }
  const userClass = byName.get(name);
  if (userClass) return revive(userClass, { name, message: value.message, code, retryable, data });
  return new builtIn.RemoteError(name, value.message, code, retryable, data);
}

/** Builds an instance without running the constructor, whose signature is unknown here. */
function revive(cls: ErrorClass, wire: WireError): Error {
  const error = Object.create(cls.prototype) as Error & Record<string, unknown>;
  Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', {
    value: `${wire.name}: ${wire.message}\n    at <remote>`,
    writable: true,
    configurable: true,
  });
  error.name = wire.name;
  error.code = wire.code;
  error.retryable = wire.retryable;
  if (wire.data !== undefined) error.data = wire.data;
  return error;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
