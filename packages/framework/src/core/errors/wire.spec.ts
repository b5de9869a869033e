import { CallTimeoutError, FrameError, RemoteError, ServiceUnavailableError } from './errors';
import { HostmeshError } from './hostmesh-error';
import { fromWireError, registerErrorType, toWireError } from './wire';

class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError';
  readonly code = 'INSUFFICIENT_FUNDS';
  readonly retryable = false;
  readonly data = { needed: 10 };
}
registerErrorType(InsufficientFundsError);

describe('errors on the wire', () => {
  it('rebuilds a framework error as its own class with code, retryable and data', () => {
    const wire = toWireError(new ServiceUnavailableError('nobody home', { data: { service: 'pricing' } }));
    const error = fromWireError(JSON.parse(JSON.stringify(wire)), 'test');
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toBeInstanceOf(HostmeshError);
    expect(error).toMatchObject({ message: 'nobody home', code: 'SERVICE_UNAVAILABLE', retryable: true, data: { service: 'pricing' } });
  });

  it('rebuilds a registered user error as an instance of its class', () => {
    const error = fromWireError(toWireError(new InsufficientFundsError('balance too low')), 'test');
    expect(error).toBeInstanceOf(InsufficientFundsError);
    expect(error).toMatchObject({ name: 'InsufficientFundsError', message: 'balance too low', code: 'INSUFFICIENT_FUNDS', data: { needed: 10 } });
  });

  it('keeps name, message, code and retryable of an unregistered error in a RemoteError', () => {
    const original = Object.assign(new RangeError('too far'), { code: 'OUT_OF_RANGE', retryable: true });
    const error = fromWireError(toWireError(original), 'test');
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ name: 'RangeError', message: 'too far', code: 'OUT_OF_RANGE', retryable: true });
  });

  it('does not let a user error pose as a framework error by borrowing its code', () => {
    const impostor = Object.assign(new Error('fake'), { code: CallTimeoutError.code });
    expect(fromWireError(toWireError(impostor), 'test')).not.toBeInstanceOf(CallTimeoutError);
  });

  it('turns anything thrown, even a string, into a wire error', () => {
    expect(toWireError('just a string')).toEqual({ name: 'Error', message: 'just a string', code: 'REMOTE_ERROR', retryable: false });
  });

  it.each([null, 42, 'text', [], { message: 7 }])('answers a malformed error body (%p) with a FrameError instead of throwing', (body) => {
    expect(fromWireError(body, 'reply from pricing')).toBeInstanceOf(FrameError);
  });
});
