import { describeTransportConformance } from '../../testing/conformance';

describeTransportConformance('tcp');
