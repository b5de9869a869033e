import { describeTransportConformance } from '../../testing/conformance';

describeTransportConformance('uds');
