import { PosixError, ShmSegment } from '@hostmesh/native';
import { encodeStatelessFrame, FrameCodec } from '../../protocol/codec';
import { checkHeader, FrameFlag, frameFlags, FrameKind, HEADER_BYTES } from '../../protocol/frame';
import { FrameError } from '../../core/errors/errors';

/**
 * A queue message holds one or more whole frames back to back (publishers batch the
 * events of one tick into one message: one system call for many events). A frame too
 * large for a message is put in an ownerless shared-memory segment and replaced by a
 * small reference frame; the reader maps it and delivers it in place. `onBody` gets the
 * segment's name: the reader removes it once the event was handled (until then a
 * restarted subscriber can deliver it again).
 */
export function forEachFrame(
  message: Buffer,
  length: number,
  maxPayloadBytes: number,
  deliver: (buffer: Buffer, start: number, end: number) => void,
  onBody: (segment: string) => void,
): void {
  let offset = 0;
  while (offset < length) {
    if (length - offset < HEADER_BYTES) throw new FrameError(`queue message ends with ${length - offset} stray bytes`);
    const end = offset + HEADER_BYTES + checkHeader(message, offset, maxPayloadBytes);
    if (end > length) throw new FrameError(`frame at ${offset} runs ${end - length} bytes past the end of its queue message`);
    if (frameFlags(message, offset) & FrameFlag.ShmReference) deliverReferenced(message, offset, end, maxPayloadBytes, deliver, onBody);
    else deliver(message, offset, end);
    offset = end;
  }
}

const referenceCodec = new FrameCodec(1024);

/** The large-event body segments a queue message refers to, without opening them; [] for one that does not parse. */
export function referencedBodies(message: Buffer, length: number, maxPayloadBytes: number): string[] {
  const names: string[] = [];
  try {
    for (let offset = 0; offset < length;) {
      const end = offset + HEADER_BYTES + checkHeader(message, offset, maxPayloadBytes);
      if (end > length) break;
      if (frameFlags(message, offset) & FrameFlag.ShmReference) {
        const reference = referenceCodec.decode(message, offset, end) as { segment?: unknown };
        if (typeof reference?.segment === 'string') names.push(reference.segment);
      }
      offset = end;
    }
  } catch {
    // what cannot be parsed refers to nothing we could remove
  }
  return names;
}

function deliverReferenced(
  message: Buffer,
  start: number,
  end: number,
  maxPayloadBytes: number,
  deliver: (buffer: Buffer, start: number, end: number) => void,
  onBody: (segment: string) => void,
): void {
  const reference = referenceCodec.decode(message, start, end) as { segment?: unknown; length?: unknown };
  if (typeof reference?.segment !== 'string' || typeof reference.length !== 'number') {
    throw new FrameError('shm reference frame without a segment name and length');
  }
  let segment: ShmSegment;
  try {
    segment = ShmSegment.open(reference.segment);
  } catch (error) {
    // Removed once its event was handled: a journal entry replayed after that has nothing left to deliver.
    if (PosixError.is(error, 'ENOENT')) {
      throw new FrameError(`the body of a large event is gone (${reference.segment}): handled already, or purged`, {
        cause: error,
        data: { bodyGone: reference.segment },
      });
    }
    throw error;
  }
  onBody(reference.segment);
  try {
    if (reference.length > segment.size) throw new FrameError(`shm reference claims ${reference.length} bytes of a ${segment.size}-byte segment`);
    const frame = segment.data;
    const frameEnd = HEADER_BYTES + checkHeader(frame, 0, maxPayloadBytes);
    if (frameEnd !== reference.length) throw new FrameError('shm reference length does not match the frame it holds');
    deliver(frame, 0, frameEnd);
  } finally {
    segment.close();
  }
}

/** The reference frame that stands for `frame` (+ `tail`) once copied into a new segment. */
export function referenceFrame(segmentName: string, frame: Buffer, tail: Buffer | undefined): Buffer {
  const length = frame.length + (tail?.length ?? 0);
  const segment = ShmSegment.create(segmentName, length, { ownerless: true });
  try {
    frame.copy(segment.data, 0);
    tail?.copy(segment.data, frame.length);
  } finally {
    segment.close();
  }
  const reference = encodeStatelessFrame(FrameKind.Event, 0, 0, { segment: segmentName, length }, 1024);
  reference[3] |= FrameFlag.ShmReference;
  return reference;
}
