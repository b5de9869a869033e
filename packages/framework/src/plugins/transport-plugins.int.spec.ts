import { afterAll, beforeAll } from '@jest/globals';
import { describeConnectionConformance } from '../testing/connection-conformance';
import { useNatsServer } from '../testing/nats-server';
import { TRANSPORT_PLUGINS } from './transport-plugins';

// The fast, in-process level of conformance, for every plugin in the list (a new one is
// tested here the moment it is added); NATS against a real nats-server.
useNatsServer({ beforeAll, afterAll });
for (const plugin of TRANSPORT_PLUGINS) describeConnectionConformance(plugin.kind);
