import { endpointRoute, routeId } from './route-id';

describe('routeId', () => {
  it('is the 32-bit FNV-1a of the UTF-8 name', () => {
    expect(routeId('')).toBe(0x811c9dc5);
    expect(routeId('a')).toBe(0xe40c292c);
    expect(routeId('foobar')).toBe(0xbf9cf968);
  });

  it('addresses an endpoint as service.endpoint', () => {
    expect(endpointRoute('pricing', 'quote')).toBe('pricing.quote');
    expect(routeId(endpointRoute('pricing', 'quote'))).not.toBe(routeId(endpointRoute('pricing', 'quotes')));
  });
});
