/**
 * A child process of `MediaWorkers` (media-workers.ts): one MediaEngine driven over IPC. It sends one
 * message when it is ready, then answers each request with `{ id, ok, result | error }`.
 */
import { MediaEngine } from './media-engine.js';
import type { WorkerReply, WorkerRequest } from './media-workers.js';

const engine = new MediaEngine();

function reply(message: WorkerReply): void {
  process.send?.(message);
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'open':
      return engine.open(request.count);
    case 'start':
      await engine.start(request.index, request.a, request.b);
      return null;
    case 'startDirect':
      await engine.startDirect();
      return null;
    case 'stop':
      engine.stop();
      return null;
    case 'stopCall':
      engine.stopCall(request.index);
      return null;
    case 'end':
      engine.end(request.index);
      return null;
    case 'drain':
      await engine.drain();
      return null;
    case 'stats':
      return engine.stats();
    case 'resetLatency':
      return engine.resetLatency();
    case 'close':
      engine.close();
      setTimeout(() => process.exit(0), 50);
      return null;
  }
}

process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) =>
      reply({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
