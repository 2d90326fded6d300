export { AdminHttpServer, type AdminHttpOptions, type HealthSnapshot } from './http-server.js';
