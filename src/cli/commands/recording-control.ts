import { dirname } from 'node:path';
import { request } from 'undici';
import { resolveSecret } from '../../config/index.js';
import { loadConfigFor, type AdminCommandOutput } from './group.js';

/** Options of {@link runRecordingControl}. */
export interface RecordingControlCommandOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** The recording id (= call id) or the caller's Call-ID. */
  readonly callId: string;
}

/** How long the running server may take to answer. */
const REQUEST_TIMEOUT_MS = 5000;

/**
 * `callrec recordings pause|resume <callId>`: asks the running `callrec run` through its admin
 * endpoint (which audits the request) to pause or resume a running call's recording. Paused spans
 * are silence on the recording's timeline. Exit 0 done, 1 no such recorded call, 2 usage or the
 * server cannot be reached.
 */
export async function runRecordingControl(
  action: 'pause' | 'resume',
  options: RecordingControlCommandOptions,
): Promise<number> {
  const { out, callId } = options;
  const command = `recordings ${action}`;
  if (callId.trim() === '') {
    out.error(`callrec ${command}: usage: callrec ${command} <callId>`);
    return 2;
  }
  const config = await loadConfigFor(command, options.configPath, out);
  if (config === undefined) return 2;
  const { host, port } = config.admin.http;
  let token: string | undefined;
  try {
    token =
      config.admin.http.token === undefined
        ? undefined
        : await resolveSecret(config.admin.http.token, dirname(options.configPath));
  } catch (error) {
    out.error(`callrec ${command}: admin.http.token: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const url = `http://${urlHost(host)}:${port}/calls/${encodeURIComponent(callId)}/recording/${action}`;
  try {
    const response = await request(url, {
      method: 'POST',
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const body = (await response.body.text()).trim();
    if (response.statusCode === 200) {
      out.log(`${callId}: recording ${action === 'pause' ? 'paused' : 'resumed'}`);
      return 0;
    }
    if (response.statusCode === 404) {
      out.error(`callrec ${command}: no running recorded call ${callId}`);
      return 1;
    }
    if (response.statusCode === 401) {
      out.error(
        `callrec ${command}: the admin endpoint at ${host}:${port} refused the request (401): ${
          token === undefined
            ? 'it requires a token, set admin.http.token'
            : 'admin.http.token does not match the server'
        }`,
      );
      return 2;
    }
    out.error(
      `callrec ${command}: the admin endpoint answered ${response.statusCode}${body === '' ? '' : `: ${body}`}`,
    );
    return 2;
  } catch (error) {
    out.error(
      `callrec ${command}: cannot reach the running callrec at ${host}:${port} (admin.http): ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
    return 2;
  }
}

/** The host part of a URL: a wildcard bind is reached on loopback, IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
