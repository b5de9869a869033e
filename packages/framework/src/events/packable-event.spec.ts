import { EventType } from '../decorators/event-type.decorator';
import { eventDefinition } from '../metadata/explorer';
import { packableEvent } from './packable-event';

@EventType('packable.tick')
class Tick {
  constructor(
    readonly seq: number,
    readonly note: string,
  ) {}
  label(): string {
    return `tick ${this.seq}`;
  }
}

@EventType('packable.dated')
class Dated extends Date {}

describe('packableEvent', () => {
  const definition = eventDefinition(Tick);

  it("gives an instance of its event's class as the plain copy of its fields, leaving the instance alone", () => {
    const tick = new Tick(3, 'n');
    const packable = packableEvent(tick, definition);
    expect(packable).not.toBe(tick);
    expect(packable.constructor).toBe(Object);
    expect(packable).toEqual({ seq: 3, note: 'n' });
    expect(tick).toBeInstanceOf(Tick);
  });

  it('leaves alone what would not pack the same as a copy: its own toJSON, another class, a class with an encoding of its own', () => {
    const withJson = Object.assign(new Tick(1, 'j'), { toJSON: () => 'j' });
    class LaterTick extends Tick {}
    const others: object[] = [withJson, new Map([['seq', 1]]), [1, 2], { seq: 1 }, new LaterTick(2, 'l')];
    for (const event of others) expect(packableEvent(event, definition)).toBe(event);
    const dated = new Dated(0);
    expect(eventDefinition(Dated).ownFields).toBe(false);
    expect(packableEvent(dated, eventDefinition(Dated))).toBe(dated);
  });

  it("throws what the instance's own getter throws (the publish rejects with it)", () => {
    const tick = Object.defineProperty(new Tick(4, 'g'), 'broken', {
      enumerable: true,
      get() {
        throw new Error('getter failed');
      },
    });
    expect(() => packableEvent(tick, definition)).toThrow('getter failed');
  });
});
