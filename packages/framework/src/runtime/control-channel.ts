import { Socket } from 'node:net';
import type { DiagnosticSnapshot } from './diagnostics';

/** What a service tells its supervisor, one JSON line each, on the control pipe. */
export type ControlMessage =
  | { type: 'ready'; pid: number; service: string; instance: string }
  /** `service`: the member of a group it is about (by its manifest name); absent for a process of one service. */
  | { type: 'health'; service?: string; snapshot: DiagnosticSnapshot }
  | { type: 'stopping'; reason: string }
  /** A line a service of a group wrote (ServiceGroup): the group's own output is shared by all of them. */
  | { type: 'log'; service: string; stream: 'out' | 'err'; line: string };

/**
 * The service's end of the supervisor's anonymous pipe (fd HOSTMESH_CONTROL_FD, not
 * stdout): readiness once, health every second, stopping on drain. Absent when the
 * service was not started by a supervisor.
 */
export class ControlChannel {
  private constructor(
    private readonly socket: Socket,
    onLost: () => void,
  ) {
    // The supervisor's end is a socket pair: it closing means the supervisor is gone.
    let lost = false;
    const gone = () => {
      if (lost) return;
      lost = true;
      onLost();
    };
    socket.on('error', gone);
    socket.on('end', gone);
    socket.on('close', gone);
    socket.on('data', () => undefined);
  }

  /** `onLost` runs once if the supervisor goes away while we run. */
  static fromEnvironment(onLost: () => void, env: NodeJS.ProcessEnv = process.env): ControlChannel | undefined {
    const fd = Number(env.HOSTMESH_CONTROL_FD);
    if (!Number.isInteger(fd) || fd < 3) return undefined;
    try {
      const socket = new Socket({ fd, readable: true, writable: true });
      socket.unref();
      return new ControlChannel(socket, onLost);
    } catch {
      return undefined;
    }
  }

  /** Log lines buffered towards the supervisor beyond this are dropped (and counted), not kept. */
  static readonly MAX_BUFFERED = 1 << 20;
  private dropped = 0;

  /**
   * `droppable`: a log line, which may be dropped while the supervisor is behind, so a member
   * that floods its output grows no one's memory and holds up no readiness or health report.
   */
  send(message: ControlMessage, options: { droppable?: boolean } = {}): void {
    if (this.socket.destroyed) return;
    if (options.droppable && this.socket.writableLength > ControlChannel.MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0 && message.type === 'log' && this.socket.writableLength <= ControlChannel.MAX_BUFFERED / 2) {
      this.socket.write(JSON.stringify({ ...message, line: `(${this.dropped} lines dropped: the supervisor was behind)` }) + '\n');
      this.dropped = 0;
    }
    this.socket.write(JSON.stringify(message) + '\n');
  }

  close(): void {
    this.socket.removeAllListeners('end');
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.socket.on('error', () => undefined);
    this.socket.end();
  }
}

/** After the reader of our stdout or stderr went away: what is written is lost, the process carries on. */
export function ignoreBrokenPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
}
