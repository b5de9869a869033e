import { bootstrap, defineContract, Endpoint, Mesh, releaseBuffer, retainBuffer, Service } from '@hostmesh/framework';

export interface ImagesApi {
  /** The negative of an 8-bit grey image. */
  negative(pixels: Buffer): Buffer;
  /** The size of the last image it was sent (it keeps a copy). */
  lastSize(): number;
}
export const Images = defineContract<ImagesApi>('images');

@Service(Images, { binding: 'shm' })
export class ImagesService implements ImagesApi {
  private last: Buffer | undefined;

  @Endpoint()
  negative(pixels: Buffer): Buffer {
    // `pixels` is a view of shared memory, valid until this handler returns: keeping it takes a copy.
    this.last = retainBuffer(pixels);
    const negative = Buffer.allocUnsafe(pixels.length);
    for (let i = 0; i < pixels.length; i++) negative[i] = 255 - pixels[i]!;
    return negative;
  }

  @Endpoint()
  lastSize(): number {
    return this.last?.length ?? 0;
  }
}

if (process.argv[2] === 'call') {
  const mesh = Mesh.connect();
  const images = mesh.client(Images);
  void (async () => {
    await images.lastSize(); // connected: from now on $alloc lends the connection's shared memory
    const pixels = images.$alloc(1 << 20); // filled in place, it crosses without a copy
    pixels.fill(200);
    const negative = await images.negative(pixels); // `pixels` belongs to the call now: do not touch it
    console.log(`${negative.length} pixels, the first ${negative[0]}`);
    releaseBuffer(negative); // a view of the service's shared memory: it goes back now, not at the next GC
    console.log(`the service kept ${await images.lastSize()} bytes`);
    await mesh.close();
  })();
} else {
  void bootstrap(ImagesService);
}
