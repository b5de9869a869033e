import { execFileSync } from 'node:child_process';

/**
 * Network namespaces joined by veth pairs, for tests that need real network stacks between
 * "hosts" on one machine. Namespaces are named `hm<pid><letter>` and every address lives in
 * a private 10.77.x.0/24; everything is torn down by `destroy()`, by a process `exit`
 * handler if a test forgot (or crashed), and stale namespaces of dead test processes are
 * swept when the next lab is created. Needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2.
 */

function ip(args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();
}

function quietly(action: () => unknown): void {
  try {
    action();
  } catch {
    // teardown: best effort
  }
}

let probed: string | null | undefined;

/** Why network namespaces cannot be used here, or null when they can (probed once per process). */
export function netnsUnavailableReason(): string | null {
  if (probed !== undefined) return probed;
  probed = (() => {
    if (process.platform !== 'linux') return `network namespaces need Linux, not ${process.platform}`;
    if (process.getuid?.() !== 0) return `network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); running as uid ${process.getuid?.()}`;
    try {
      ip(['-V']);
    } catch (error) {
      return `iproute2's ip is not usable: ${(error as Error).message.split('\n')[0]}`;
    }
    const probe = `hm${process.pid}probe`;
    try {
      ip(['netns', 'add', probe]);
      ip(['-n', probe, 'link', 'set', 'lo', 'up']);
      return null;
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      return `cannot create a network namespace: ${stderr || (error as Error).message.split('\n')[0]}`;
    } finally {
      quietly(() => ip(['netns', 'del', probe]));
    }
  })();
  return probed;
}

/** `{ ok: true }`, or the reason network namespaces are unavailable (for a skipped suite's title). */
export function canUseNetns(): { ok: true } | { ok: false; reason: string } {
  const reason = netnsUnavailableReason();
  return reason === null ? { ok: true } : { ok: false, reason };
}

export interface VethLink {
  /** Interface names and addresses of both ends; `root` is the initial namespace. */
  ends: [{ ns: string; dev: string; address: string }, { ns: string; dev: string; address: string }];
}

const live = new Set<NetnsLab>();
process.once('exit', () => {
  for (const lab of live) lab.destroy();
});

/** Deletes namespaces `hm<pid>…` whose test process is gone. */
function sweepStale(): void {
  let list = '';
  quietly(() => (list = ip(['netns', 'list'])));
  for (const line of list.split('\n')) {
    const match = /^(hm(\d+)[a-z]+)\b/.exec(line.trim());
    if (!match || Number(match[2]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(match[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) quietly(() => ip(['netns', 'del', match[1]!]));
  }
}

export class NetnsLab {
  /** Full namespace names by short name (`a` → `hm1234a`). */
  readonly names = new Map<string, string>();
  readonly links: VethLink[] = [];
  private destroyed = false;
  /** Third octet base: per process, so concurrent runs never share a root-namespace subnet. */
  private readonly subnetBase = 16 + (process.pid % 56) * 4;

  private constructor() {}

  /** Creates one namespace per short name (letters), each with `lo` up. */
  static create(shortNames: string[]): NetnsLab {
    const reason = netnsUnavailableReason();
    if (reason !== null) throw new Error(reason);
    sweepStale();
    const lab = new NetnsLab();
    live.add(lab);
    try {
      for (const short of shortNames) {
        if (!/^[a-z]{1,3}$/.test(short)) throw new Error(`namespace short names are 1-3 letters, not '${short}'`);
        const name = `hm${process.pid}${short}`;
        quietly(() => ip(['netns', 'del', name]));
        ip(['netns', 'add', name]);
        lab.names.set(short, name);
        ip(['-n', name, 'link', 'set', 'lo', 'up']);
      }
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return lab;
  }

  /** The full name of a namespace (`a` → `hm1234a`); 'root' is the initial namespace. */
  ns(short: string): string {
    const name = this.names.get(short);
    if (!name) throw new Error(`no namespace '${short}' in this lab`);
    return name;
  }

  /** A command prefix that runs what follows inside the namespace: `['ip', 'netns', 'exec', name]`. */
  exec(short: string): string[] {
    return ['ip', 'netns', 'exec', this.ns(short)];
  }

  /**
   * A veth pair between two namespaces (`'root'` for the initial one), both ends up, with
   * 10.77.<n>.1 on the first and 10.77.<n>.2 on the second.
   */
  link(from: string, to: string): VethLink {
    const index = this.links.length;
    // Links with an end in the root namespace take a subnet nobody there uses yet.
    // Never a subnet of another link of this lab, nor one in use in the root namespace.
    let third = this.subnetBase + index;
    let used = this.links.map((l) => l.ends[0].address).join(' ');
    if (from === 'root' || to === 'root') quietly(() => (used += ip(['-o', '-4', 'addr', 'show'])));
    while (used.includes(`10.77.${third}.`)) third = (third + 1) % 250;
    const subnet = `10.77.${third}`;
    const devs = [`hm${process.pid}v${index}x`, `hm${process.pid}v${index}y`];
    ip(['link', 'add', devs[0]!, 'type', 'veth', 'peer', 'name', devs[1]!]);
    const ends = [from, to].map((short, i) => {
      const dev = devs[i]!;
      const address = `${subnet}.${i + 1}`;
      const prefix = short === 'root' ? [] : ['-n', this.ns(short)];
      if (short !== 'root') ip(['link', 'set', dev, 'netns', this.ns(short)]);
      ip([...prefix, 'addr', 'add', `${address}/24`, 'dev', dev]);
      ip([...prefix, 'link', 'set', dev, 'up']);
      return { ns: short, dev, address };
    }) as VethLink['ends'];
    const link = { ends };
    this.links.push(link);
    return link;
  }

  /** Brings every veth end inside the namespace down: its peers see no carrier, packets are dropped. */
  linkDown(short: string): void {
    this.setLinks(short, 'down');
  }

  linkUp(short: string): void {
    this.setLinks(short, 'up');
  }

  private setLinks(short: string, state: 'up' | 'down'): void {
    for (const link of this.links) {
      for (const end of link.ends) {
        if (end.ns !== short) continue;
        ip([...(short === 'root' ? [] : ['-n', this.ns(short)]), 'link', 'set', end.dev, state]);
      }
    }
  }

  /** Deletes the namespaces (their veth ends, and so the pairs, go with them) and root-side ends. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const link of this.links) {
      for (const end of link.ends) if (end.ns === 'root') quietly(() => ip(['link', 'del', end.dev]));
    }
    for (const name of this.names.values()) quietly(() => ip(['netns', 'del', name]));
  }
}

/** Short helpers for tests that hold one lab. */
export function linkDown(lab: NetnsLab, short: string): void {
  lab.linkDown(short);
}

export function linkUp(lab: NetnsLab, short: string): void {
  lab.linkUp(short);
}
