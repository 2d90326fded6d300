import { createServer, type Server } from 'node:http';

/** Counts of live state, for `/healthz` and leak checks. */
export interface HealthSnapshot {
  readonly calls: number;
  readonly dialogs: number;
  readonly transactions: number;
  readonly registrations: number;
}

export interface AdminHttpOptions {
  /** @default 127.0.0.1 (SPEC §7: the admin endpoint binds to localhost) */
  readonly host: string;
  readonly port: number;
  readonly health: () => HealthSnapshot;
}

/** The admin HTTP endpoint: `GET /healthz` (JSON). */
export class AdminHttpServer {
  readonly #server: Server;
  readonly #options: AdminHttpOptions;

  private constructor(options: AdminHttpOptions) {
    this.#options = options;
    this.#server = createServer((request, response) => {
      if (request.method === 'GET' && request.url === '/healthz') {
        const body = JSON.stringify({ status: 'ok', ...this.#options.health() });
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(body);
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found\n');
    });
  }

  static async start(options: AdminHttpOptions): Promise<AdminHttpServer> {
    const admin = new AdminHttpServer(options);
    await new Promise<void>((resolve, reject) => {
      admin.#server.once('error', reject);
      admin.#server.listen(options.port, options.host, () => resolve());
    });
    return admin;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : this.#options.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
