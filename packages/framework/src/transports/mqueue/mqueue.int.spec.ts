import { describeTransportConformance } from '../../testing/conformance';

describeTransportConformance('mqueue', { cases: 'events' });
