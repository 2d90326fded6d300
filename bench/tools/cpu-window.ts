/** /proc sampling of `bench/media.bench.ts`: CPU and RSS of processes, the machine, UDP drops. */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { PBX_IP, TRUNK_IP } from './media-bench-options.js';
import type { WorkerCall } from './media-workers.js';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, seconds; NaN when it is gone. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** VmRSS in KiB; NaN when the process is gone. */
export async function rssKiB(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (all cores). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/** `/proc/net/udp` address of an IPv4 loopback host and port (little-endian hex, as x86 prints it). */
function procNetAddress(host: string, port: number): string {
  const ip = host
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  return `${ip}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/**
 * Datagrams the kernel dropped because a socket's receive buffer was full (`drops` of
 * /proc/net/udp): on the generator's sockets, and on callrec's (127.0.0.1, `--media-ports`).
 */
export async function udpDrops(
  calls: readonly WorkerCall[],
  mediaPorts: readonly [number, number],
): Promise<{ generator: number; callrec: number }> {
  const generatorSockets = new Set(
    calls.flatMap((c) => [procNetAddress(TRUNK_IP, c.ports.a), procNetAddress(PBX_IP, c.ports.b)]),
  );
  const callrecIp = procNetAddress(TRUNK_IP, 0).split(':')[0];
  let generator = 0;
  let callrec = 0;
  for (const line of (await readFile('/proc/net/udp', 'utf8')).split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const drops = Number(fields[fields.length - 1]);
    if (local === undefined || !(drops > 0)) continue;
    const [ip, portHex] = local.split(':');
    const port = parseInt(portHex ?? '', 16);
    if (generatorSockets.has(local)) generator += drops;
    else if (ip === callrecIp && port >= mediaPorts[0] && port <= mediaPorts[1]) callrec += drops;
  }
  return { generator, callrec };
}

/** CPU use of some processes and the machine over a window. */
export class CpuWindow {
  readonly #pids: number[];
  #start = 0;
  #cpu: number[] = [];
  #machine = { busy: 0, total: 0 };
  #self = process.cpuUsage();

  constructor(pids: number[]) {
    this.#pids = pids;
  }

  async begin(): Promise<void> {
    this.#start = performance.now();
    this.#cpu = await Promise.all(this.#pids.map(cpuSeconds));
    this.#machine = await machineTicks();
    this.#self = process.cpuUsage();
  }

  /**
   * % of one core: per process (in the order given), this process (the SIP side), and everything
   * else on the machine (other users' work disturbs the figures); the machine's busy % of all cores.
   */
  async end(): Promise<{ processes: number[]; self: number; others: number; machine: number }> {
    const wall = (performance.now() - this.#start) / 1000;
    const self = process.cpuUsage(this.#self);
    const cpu = await Promise.all(this.#pids.map(cpuSeconds));
    const machine = await machineTicks();
    const processes = cpu.map((c, i) => ((c - (this.#cpu[i] as number)) / wall) * 100);
    const selfPercent = ((self.user + self.system) / 1e6 / wall) * 100;
    const busy = (machine.busy - this.#machine.busy) / Math.max(1, machine.total - this.#machine.total);
    const cores = cpus().length;
    return {
      processes,
      self: selfPercent,
      others: Math.max(0, busy * cores * 100 - processes.reduce((a, b) => a + b, 0) - selfPercent),
      machine: busy * 100,
    };
  }
}
