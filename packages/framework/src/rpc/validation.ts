import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { EndpointSchemas } from '../contracts/contract';
import { ValidationError, type ValidationIssue } from '../core/errors/errors';
import { isPromiseLike } from './routes';
import { isAsyncIterable } from './streams/is-stream';

type Result = StandardSchemaV1.Result<unknown>;

/**
 * Checks a call's arguments against its endpoint's schemas: returns the arguments as the
 * schemas output them (defaults, coercions), or a promise of them when a schema is async;
 * throws ValidationError with every issue otherwise.
 */
export function argumentsValidator(route: string, schemas: readonly StandardSchemaV1[]): (args: unknown[]) => unknown[] | Promise<unknown[]> {
  const count = schemas.length;
  return (args) => {
    if (args.length > count) {
      throw new ValidationError(`${route} takes ${count} argument${count === 1 ? '' : 's'}, got ${args.length}`, {
        data: { route, issues: [{ path: [], argument: count, message: `unexpected argument ${count}` }] },
      });
    }
    const results: Array<Result | Promise<Result>> = new Array(count);
    let pending = false;
    for (let i = 0; i < count; i++) {
      // A streamed argument's schema is its items': each is checked as the handler reads it.
      if (isAsyncIterable(args[i])) {
        results[i] = { value: checkedItems(args[i] as AsyncIterable<unknown>, itemValidator(route, schemas[i]!, i)) };
        continue;
      }
      const result = schemas[i]!['~standard'].validate(args[i]);
      if (isPromiseLike(result)) pending = true;
      results[i] = result;
    }
    if (pending) return Promise.all(results).then((settled) => outputs(route, settled, args));
    return outputs(route, results as Result[], args);
  };
}

/** Checks a handler's result: the output, or ValidationError (the caller is not sent a result its contract forbids). */
export function resultValidator(route: string, schema: StandardSchemaV1): (value: unknown) => unknown {
  const checkOne = (value: unknown): unknown => {
    const result = schema['~standard'].validate(value);
    const settle = (settled: Result) => {
      if (settled.issues === undefined) return settled.value;
      const issues = settled.issues.map((issue) => ({ path: pathOf(issue), message: issue.message }));
      // The service's fault, not the caller's: logged with its stack, InternalError to the caller.
      throw new ContractViolation(`${route} returned a result its contract does not allow: ${describe(issues)}`);
    };
    return isPromiseLike(result) ? Promise.resolve(result).then(settle) : settle(result);
  };
  // A result stream's schema is its items': a bad item ends the stream after the good ones before it.
  return (value) => (isAsyncIterable(value) ? checkedItems(value, checkOne) : checkOne(value));
}

/** Checks one item of a streamed argument: its output, or ValidationError naming the argument and the item. */
function itemValidator(route: string, schema: StandardSchemaV1, argument: number): (item: unknown) => unknown {
  let index = 0;
  return (item) => {
    const at = index++;
    const settle = (settled: Result) => {
      if (settled.issues === undefined) return settled.value;
      const issues = settled.issues.map((issue) => ({ path: [at, ...pathOf(issue)], argument, message: issue.message }));
      throw new ValidationError(`invalid item ${at} of the streamed argument of ${route}: ${describe(issues)}`, { data: { route, issues } });
    };
    const result = schema['~standard'].validate(item);
    return isPromiseLike(result) ? Promise.resolve(result).then(settle) : settle(result);
  };
}

/** `source`, each item checked (and replaced by the schema's output) as it is read. */
async function* checkedItems(source: AsyncIterable<unknown>, check: (item: unknown) => unknown): AsyncGenerator<unknown> {
  for await (const item of source) {
    const checked = check(item);
    yield isPromiseLike(checked) ? await checked : checked;
  }
}

/** A handler's result that breaks its own contract: a bug in the service. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

/** The outputs in a new array: the caller's (an interceptor may call `next` again with it) stays as it was. */
function outputs(route: string, results: readonly Result[], input: unknown[]): unknown[] {
  let issues: ValidationIssue[] | undefined;
  const args = input.slice();
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    if (result.issues === undefined) args[i] = result.value;
    else for (const issue of result.issues) (issues ??= []).push({ path: pathOf(issue), argument: i, message: issue.message });
  }
  if (issues !== undefined) {
    throw new ValidationError(`invalid arguments for ${route}: ${describe(issues)}`, { data: { route, issues } });
  }
  return args;
}

function pathOf(issue: StandardSchemaV1.Issue): Array<string | number> {
  if (issue.path === undefined) return [];
  return issue.path.map((segment) => {
    const key = typeof segment === 'object' ? segment.key : segment;
    return typeof key === 'number' ? key : String(key);
  });
}

/** `quantity: Expected number, received string; symbol: Required` */
function describe(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) => {
      const argument = issue.argument !== undefined && issue.argument > 0 ? `argument ${issue.argument}` : '';
      const where = [argument, issue.path.join('.')].filter(Boolean).join(' ');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** The validators of one endpoint, or undefined when its contract gives no schemas for it. */
export function endpointValidators(route: string, schemas: EndpointSchemas | undefined) {
  if (schemas === undefined) return undefined;
  return {
    args: schemas.args === undefined ? undefined : argumentsValidator(route, schemas.args),
    result: schemas.result === undefined ? undefined : resultValidator(route, schemas.result),
  };
}
