import { injectable } from 'inversify';
import type { Contract } from '../contracts/contract';
import { SERVICE_METADATA } from '../metadata/keys';
import type { ServiceMetadata, ServiceOptions } from '../metadata/types';
import '../metadata/reflect';

/** Marks a class as the implementation of a contract, run by a ServiceHost. */
export function Service<Api>(contract: Contract<Api>, options: ServiceOptions = {}): ClassDecorator {
  return (target) => {
    const metadata: ServiceMetadata = { contract: contract as Contract<unknown>, options };
    Reflect.defineMetadata(SERVICE_METADATA, metadata, target);
    injectable('Singleton')(target);
  };
}
