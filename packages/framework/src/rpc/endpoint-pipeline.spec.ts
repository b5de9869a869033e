import { ContainerModule, inject, injectable } from 'inversify';
import type { CallContext } from '../contracts/call-context';
import type { CallGuard, CallInterceptor } from '../contracts/call-pipeline';
import { defineContract } from '../contracts/contract';
import { ForbiddenError, InternalError, RemoteError } from '../core/errors/errors';
import { ConsoleLogger } from '../core/logger';
import { Ctx } from '../decorators/ctx.decorator';
import { Endpoint } from '../decorators/endpoint.decorator';
import { Service } from '../decorators/service.decorator';
import { UseGuards, UseInterceptors } from '../decorators/use.decorators';
import { createTestHost, type TestHost } from '../testing/test-host';

/** Where interceptors write what they saw: injected, so it also shows the container builds them. */
@injectable('Singleton')
class Journal {
  readonly lines: string[] = [];
}

@injectable()
class Recorder implements CallInterceptor {
  constructor(@inject(Journal) private readonly journal: Journal) {}
  async intercept(context: CallContext, args: unknown[], next: (args?: unknown[]) => Promise<unknown>): Promise<unknown> {
    this.journal.lines.push(`enter ${context.route} ${JSON.stringify(args)}`);
    try {
      return await next();
    } finally {
      this.journal.lines.push(`leave ${context.route}`);
    }
  }
}

/** Named so the order of global, class and method interceptors shows in the journal. */
function tagging(tag: string): new (journal: Journal) => CallInterceptor {
  @injectable()
  class Tagger implements CallInterceptor {
    constructor(@inject(Journal) private readonly journal: Journal) {}
    intercept(_context: CallContext, _args: unknown[], next: () => Promise<unknown>): Promise<unknown> {
      this.journal.lines.push(tag);
      return next();
    }
  }
  return Tagger;
}
const Global = tagging('global');
const ClassLevel = tagging('class');

class Doubling implements CallInterceptor {
  async intercept(_context: CallContext, args: unknown[], next: (args?: unknown[]) => Promise<unknown>): Promise<unknown> {
    const result = (await next([(args[0] as number) * 2])) as number;
    return result + 1;
  }
}

class Caching implements CallInterceptor {
  private readonly cache = new Map<string, unknown>();
  async intercept(_context: CallContext, args: unknown[], next: () => Promise<unknown>): Promise<unknown> {
    const key = JSON.stringify(args);
    if (!this.cache.has(key)) this.cache.set(key, await next());
    return this.cache.get(key);
  }
}

class Mapping implements CallInterceptor {
  intercept(_context: CallContext, _args: unknown[], next: () => Promise<unknown>): Promise<unknown> {
    return next().catch((error: Error) => {
      throw Object.assign(new Error(`mapped: ${error.message}`), { code: 'MAPPED' });
    });
  }
}

class EvenOnly implements CallGuard {
  canActivate(_context: CallContext, args: readonly unknown[]): boolean {
    return (args[0] as number) % 2 === 0;
  }
}

class TenantHeader implements CallGuard {
  async canActivate(context: CallContext): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    return context.header('tenant') === 'acme';
  }
}

interface CalcApi {
  double(n: number): number;
  even(n: number): number;
  square(n: number): number;
  mapped(): never;
  crash(): never;
  explode(): never;
  tenant(): string;
  runs(): Record<string, number>;
}
const Calc = defineContract<CalcApi>('pipeline-calc');

@Service(Calc)
@UseInterceptors(ClassLevel)
class CalcService implements CalcApi {
  private readonly counts: Record<string, number> = {};

  private ran(name: string): void {
    this.counts[name] = (this.counts[name] ?? 0) + 1;
  }

  @Endpoint()
  @UseInterceptors(Recorder, new Doubling())
  double(n: number): number {
    this.ran('double');
    return n;
  }

  @Endpoint()
  @UseGuards(EvenOnly)
  even(n: number): number {
    this.ran('even');
    return n;
  }

  @Endpoint()
  @UseInterceptors(Caching)
  square(n: number): number {
    this.ran('square');
    return n * n;
  }

  @Endpoint()
  @UseInterceptors(Mapping)
  mapped(): never {
    throw new TypeError('inner');
  }

  @Endpoint()
  crash(): never {
    this.ran('crash');
    throw new TypeError('secret internals');
  }

  @Endpoint()
  explode(): never {
    throw new RangeError('again and again');
  }

  @Endpoint()
  @UseGuards(TenantHeader)
  tenant(@Ctx() context?: CallContext): string {
    return String(context!.header('tenant'));
  }

  @Endpoint()
  runs(): Record<string, number> {
    return this.counts;
  }
}

describe('guards and interceptors around an endpoint', () => {
  let host: TestHost<CalcService>;
  const logged: string[] = [];
  const logger = new ConsoleLogger('pipeline-calc', 'warn', { out: (line) => void logged.push(line), err: (line) => void logged.push(line) });

  beforeAll(async () => {
    const journalModule = new ContainerModule(({ bind }) => {
      bind(Journal).toSelf().inSingletonScope();
    });
    host = await createTestHost(CalcService, { interceptors: [Global], logger, modules: [journalModule] });
  });
  afterAll(() => host.stop());

  const calc = () => host.client(Calc);
  const journal = () => host.get(Journal).lines;

  it('runs interceptors global, then class, then method, outermost first; they change arguments and results', async () => {
    await expect(calc().double(5)).resolves.toBe(11); // Recorder sees 5; Doubling passes 10 on and adds 1
    expect(journal().splice(0)).toEqual(['global', 'class', 'enter pipeline-calc.double [5]', 'leave pipeline-calc.double']);
  });

  it('answers from an interceptor without running the handler (a cache)', async () => {
    await expect(calc().square(7)).resolves.toBe(49);
    await expect(calc().square(7)).resolves.toBe(49);
    await expect(calc().square(8)).resolves.toBe(64);
    expect((await calc().runs()).square).toBe(2);
  });

  it('maps errors on their way out', async () => {
    await expect(calc().mapped()).rejects.toMatchObject({ message: 'mapped: inner', code: 'MAPPED' });
    await expect(calc().mapped()).rejects.toBeInstanceOf(RemoteError);
  });

  it('refuses with ForbiddenError naming the guard, and the handler never runs', async () => {
    await expect(calc().even(4)).resolves.toBe(4);
    const refused = await calc()
      .even(3)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect(refused).toMatchObject({ message: 'pipeline-calc.even: refused by EvenOnly', code: 'FORBIDDEN', retryable: false });
    expect((await calc().runs()).even).toBe(1);
  });

  it('lets an async guard read the caller’s headers from the call context', async () => {
    await expect(calc().tenant()).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      calc()
        .$with({ headers: { tenant: 'acme' } })
        .tenant(),
    ).resolves.toBe('acme');
  });

  it('logs an unexpected error once with its stack and call id, and tells the caller only which call failed', async () => {
    logged.length = 0;
    const error = await calc()
      .crash()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalError);
    expect((error as Error).message).not.toContain('secret internals');
    const callId = (error as InternalError).data!.callId as number;
    const lines = logged.join('\n').split('\n');
    expect(lines.filter((line) => line.includes(`pipeline-calc.crash failed (call ${callId} from`))).toHaveLength(1);
    expect(logged.join('\n')).toContain('TypeError: secret internals');
    expect(logged.join('\n')).toMatch(/at CalcService\.crash/);
  });

  it('logs at most 5 unexpected errors per endpoint in 10 s', async () => {
    logged.length = 0;
    for (let i = 0; i < 12; i++) await expect(calc().explode()).rejects.toBeInstanceOf(InternalError);
    expect(
      logged
        .join('\n')
        .split('\n')
        .filter((line) => line.includes('pipeline-calc.explode failed (call')),
    ).toHaveLength(5);
  });
});
