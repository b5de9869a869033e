import { describeTransportConformance } from '../../testing/conformance';

// The client speaks plain msgpack (flag 0x10), as a client in another language does.
describeTransportConformance('uds', { label: 'with a plain-msgpack client', meshOptions: { plainMsgpack: true } });
