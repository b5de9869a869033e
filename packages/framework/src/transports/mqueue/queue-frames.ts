import { ShmSegment } from '@hostmesh/native';
import { encodeStatelessFrame, FrameCodec } from '../../protocol/codec';
import { checkHeader, FrameFlag, frameFlags, FrameKind, HEADER_BYTES } from '../../protocol/frame';
import { FrameError } from '../../errors/errors';

/**
 * A queue message holds one or more whole frames back to back (publishers batch the
 * events of one tick into one message: one system call for many events). A frame too
 * large for a message is put in an ownerless shared-memory segment and replaced by a
 * small reference frame; the reader maps it, delivers it in place and removes it.
 */
export function forEachFrame(
  message: Buffer,
  length: number,
  maxPayloadBytes: number,
  deliver: (buffer: Buffer, start: number, end: number) => void,
): void {
  let offset = 0;
  while (offset < length) {
    if (length - offset < HEADER_BYTES) throw new FrameError(`queue message ends with ${length - offset} stray bytes`);
    const end = offset + HEADER_BYTES + checkHeader(message, offset, maxPayloadBytes);
    if (end > length) throw new FrameError(`frame at ${offset} runs ${end - length} bytes past the end of its queue message`);
    if (frameFlags(message, offset) & FrameFlag.ShmReference) deliverReferenced(message, offset, end, maxPayloadBytes, deliver);
    else deliver(message, offset, end);
    offset = end;
  }
}

const referenceCodec = new FrameCodec(1024);

function deliverReferenced(
  message: Buffer,
  start: number,
  end: number,
  maxPayloadBytes: number,
  deliver: (buffer: Buffer, start: number, end: number) => void,
): void {
  const reference = referenceCodec.decode(message, start, end) as { segment?: unknown; length?: unknown };
  if (typeof reference?.segment !== 'string' || typeof reference.length !== 'number') {
    throw new FrameError('shm reference frame without a segment name and length');
  }
  const segment = ShmSegment.open(reference.segment);
  try {
    segment.unlink(); // the name goes at once; the memory stays mapped until close()
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
