import { describeTransportConformance } from '../../testing/conformance';

describeTransportConformance('shm');
