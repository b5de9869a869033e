import { describeTransportConformance } from '../../testing/conformance';

describeTransportConformance('fifo');
