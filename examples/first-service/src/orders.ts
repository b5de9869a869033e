import {
  bootstrap,
  CallContext,
  type CallGuard,
  type CallInterceptor,
  type ContractApi,
  Ctx,
  defineContract,
  Endpoint,
  Mesh,
  Service,
  UseGuards,
  UseInterceptors,
} from '@hostmesh/framework';
import { z } from 'zod';

// The schemas are the contract: the service checks every call against them, and the types come from them.
const Order = z.object({ symbol: z.string().min(1), quantity: z.number().int().positive() });
export const Orders = defineContract('orders', {
  place: { args: [Order], result: z.string() },
});
export type OrdersApi = ContractApi<typeof Orders>;

/** Only callers that say which tenant they act for, and run as this user (the kernel says who). */
class TenantGuard implements CallGuard {
  canActivate(context: CallContext): boolean {
    return typeof context.header('tenant') === 'string' && context.peer.uid === process.getuid?.();
  }
}

/** Around every call: how long it took, and how long its caller was still willing to wait. */
class Timing implements CallInterceptor {
  async intercept(context: CallContext, _args: unknown[], next: () => Promise<unknown>): Promise<unknown> {
    const started = performance.now();
    try {
      return await next();
    } finally {
      const took = (performance.now() - started).toFixed(1);
      console.log(`${context.route} took ${took} ms (${Math.round(context.remainingMs)} ms left of the caller's deadline)`);
    }
  }
}

@Service(Orders)
@UseInterceptors(Timing)
export class OrdersService implements OrdersApi {
  @Endpoint({ timeoutMs: 500 })
  @UseGuards(TenantGuard)
  place(order: z.infer<typeof Order>, @Ctx() context?: CallContext): string {
    return `${order.quantity} × ${order.symbol} for ${context!.header('tenant')}`;
  }
}

if (process.argv[2] === 'call') {
  const mesh = Mesh.connect();
  const [tenant, order] = [process.argv[3], JSON.parse(process.argv[4] ?? '{}')];
  const orders = mesh.client(Orders).$with({ headers: tenant ? { tenant } : {} });
  orders
    .place(order)
    .then(console.log, (error: Error) => console.error(`${error.name}: ${error.message}`))
    .finally(() => mesh.close());
} else {
  void bootstrap(OrdersService);
}
