/**
 * The parent side of the RTP worker processes (`rtp-load-worker.ts`): K children, each a
 * MediaEngine, driven over IPC so the orchestrating process (SIP, /proc sampling) stays out of the
 * media path.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HistogramData } from './histogram.js';
import type { CallPorts, MediaAddress, MediaStats } from './media-engine.js';

/** Requests of the parent to a worker (`rtp-load-worker.ts`). */
export type WorkerRequest =
  | { readonly id: number; readonly op: 'open'; readonly count: number }
  | {
      readonly id: number;
      readonly op: 'start';
      readonly index: number;
      readonly a: MediaAddress;
      readonly b: MediaAddress;
    }
  | { readonly id: number; readonly op: 'startDirect' }
  | { readonly id: number; readonly op: 'stopCall'; readonly index: number }
  | { readonly id: number; readonly op: 'end'; readonly index: number }
  | { readonly id: number; readonly op: 'stop' }
  | { readonly id: number; readonly op: 'drain' }
  | { readonly id: number; readonly op: 'stats' }
  | { readonly id: number; readonly op: 'resetLatency' }
  | { readonly id: number; readonly op: 'close' };

/** A request before its id is assigned (Omit over each member of the union). */
type WorkerCommand = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** A worker's answer to request `id`. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** A call's media in a worker. */
export interface WorkerCall {
  readonly worker: number;
  readonly index: number;
  readonly ports: CallPorts;
}

/** K child processes, each a MediaEngine; calls are spread round-robin. */
export class MediaWorkers {
  readonly #children: ChildProcess[];
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #exited = false;

  private constructor(children: ChildProcess[]) {
    this.#children = children;
    for (const child of children) {
      child.on('message', (message: WorkerReply) => {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        if (message.ok) pending.resolve(message.result);
        else pending.reject(new Error(message.error));
      });
      child.once('exit', (code, signal) => {
        if (this.#exited) return;
        for (const p of this.#pending.values()) p.reject(new Error(`RTP worker exited (${code ?? signal})`));
        this.#pending.clear();
      });
    }
  }

  /** Forks `count` workers and waits until they run. */
  static async start(count: number): Promise<MediaWorkers> {
    const path = fileURLToPath(new URL('./rtp-load-worker.js', import.meta.url));
    const children = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<ChildProcess>((resolve, reject) => {
            const child = fork(path, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
            child.once('error', reject);
            child.once('message', () => resolve(child));
          }),
      ),
    );
    return new MediaWorkers(children);
  }

  /** Process ids, for CPU and RSS sampling. */
  get pids(): number[] {
    return this.#children.map((c) => c.pid ?? 0);
  }

  #request<T>(worker: number, request: WorkerCommand): Promise<T> {
    const child = this.#children[worker];
    if (child === undefined) return Promise.reject(new Error(`no worker ${worker}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...request, id });
    });
  }

  #all<T>(request: WorkerCommand): Promise<T[]> {
    return Promise.all(this.#children.map((_, w) => this.#request<T>(w, request)));
  }

  /** Binds sockets for `count` calls, spread over the workers; call i is on worker i mod K. */
  async open(count: number): Promise<WorkerCall[]> {
    const k = this.#children.length;
    const perWorker = await Promise.all(
      this.#children.map((_, w) =>
        this.#request<Array<{ index: number; ports: CallPorts }>>(w, {
          op: 'open',
          count: Math.floor(count / k) + (w < count % k ? 1 : 0),
        }),
      ),
    );
    const calls: WorkerCall[] = [];
    for (let i = 0; i < count; i++) {
      const w = i % k;
      const opened = (perWorker[w] as Array<{ index: number; ports: CallPorts }>)[Math.floor(i / k)];
      if (opened === undefined) throw new Error('worker opened too few calls');
      calls.push({ worker: w, index: opened.index, ports: opened.ports });
    }
    return calls;
  }

  /** Binds sockets for one more call on worker `worker` (soak: calls replaced as they end). */
  async openOn(worker: number): Promise<WorkerCall> {
    const [opened] = await this.#request<Array<{ index: number; ports: CallPorts }>>(worker, { op: 'open', count: 1 });
    if (opened === undefined) throw new Error('worker opened no call');
    return { worker, index: opened.index, ports: opened.ports };
  }

  /** Stops one call's RTP (both legs). */
  stopCall(call: WorkerCall): Promise<void> {
    return this.#request(call.worker, { op: 'stopCall', index: call.index });
  }

  /** Closes one call's sockets. */
  end(call: WorkerCall): Promise<void> {
    return this.#request(call.worker, { op: 'end', index: call.index });
  }

  start(call: WorkerCall, a: MediaAddress, b: MediaAddress): Promise<void> {
    return this.#request(call.worker, { op: 'start', index: call.index, a, b });
  }

  async startDirect(): Promise<void> {
    await this.#all({ op: 'startDirect' });
  }

  async stop(): Promise<void> {
    await this.#all({ op: 'stop' });
  }

  /** Waits until every worker has received nothing for a while (what is still in flight arrived). */
  async drain(): Promise<void> {
    await this.#all({ op: 'drain' });
  }

  /** Each worker's latency so far; they start counting afresh. */
  async resetLatency(): Promise<HistogramData[]> {
    return this.#all<HistogramData>({ op: 'resetLatency' });
  }

  async stats(): Promise<MediaStats[]> {
    return this.#all<MediaStats>({ op: 'stats' });
  }

  /** Closes the sockets and ends the workers. */
  async close(): Promise<void> {
    try {
      await Promise.race([this.#all({ op: 'close' }), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // a worker that already died
    }
    this.#exited = true;
    for (const child of this.#children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}
