import { randomBytes } from 'node:crypto';
import type { Logger } from '../observability/index.js';
import {
  buildRequest,
  formatNameAddr,
  getHeader,
  isSipUri,
  newBranch,
  sipUri,
  type Endpoint,
  type IncomingRequest,
  type NameAddr,
  type SipResponse,
  type SipUri,
} from '../sip/index.js';
import type { SignallingPort } from './call-context.js';
import type { HeaderPolicy } from './header-policy.js';

/** One PBX registration as callrec keeps it: the AOR's user and the PBX's real contact. */
export interface Binding {
  readonly user: string;
  readonly contact: SipUri;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number;
}

interface RegistrationCall {
  readonly bCallId: string;
  readonly fromTag: string;
  bSeq: number;
}

export interface RegistrationRelayOptions {
  readonly signalling: SignallingPort;
  readonly headers: HeaderPolicy;
  readonly logger: Logger;
  /** The registrar (trunk.uri). */
  readonly registrar: SipUri;
  /** Wall clock. @default Date.now */
  readonly now?: () => number;
}

const DEFAULT_EXPIRES_SECONDS = 3600;
const MAX_REGISTRATION_CALLS = 10_000;

/**
 * REGISTER from the PBX to the trunk (SPEC §1): relayed with the Contact rewritten to callrec, so
 * the carrier sends inbound calls to callrec; callrec keeps the binding and routes inbound
 * INVITEs for the AOR to the PBX's real contact. Each PBX registration Call-ID maps to one
 * trunk-side Call-ID with its own CSeq space (refreshes and digest retries stay on it).
 */
export class RegistrationRelay {
  readonly #options: RegistrationRelayOptions;
  readonly #calls = new Map<string, RegistrationCall>();
  readonly #bindings = new Map<string, Binding>();
  readonly #now: () => number;

  constructor(options: RegistrationRelayOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Live bindings (expired ones are dropped on the way). */
  get count(): number {
    this.#sweep();
    return this.#bindings.size;
  }

  /** The PBX contact registered for `user`, if a binding is live. */
  lookup(user: string): SipUri | undefined {
    const binding = this.#bindings.get(user);
    if (binding === undefined) return undefined;
    if (binding.expiresAt <= this.#now()) {
      this.#bindings.delete(user);
      return undefined;
    }
    return binding.contact;
  }

  /** A REGISTER from the PBX side. */
  relay(incoming: IncomingRequest): void {
    const request = incoming.request;
    const user = isSipUri(request.to.uri) ? request.to.uri.user : undefined;
    if (user === undefined) {
      incoming.respond(400, { reason: 'REGISTER Without AOR User' });
      return;
    }
    const call = this.#callFor(request.callId);
    call.bSeq++;
    const signalling = this.#options.signalling;
    const registrar = this.#options.registrar;
    void signalling.resolve(registrar).then(
      (destination) => this.#send(incoming, user, call, destination),
      () => incoming.respond(503, { reason: 'Registrar Unreachable' }),
    );
  }

  #send(incoming: IncomingRequest, user: string, call: RegistrationCall, destination: Endpoint): void {
    const request = incoming.request;
    const local = this.#options.signalling.localAddress(destination.protocol);
    const host = local.host.includes(':') ? `[${local.host}]` : local.host;
    const transport = destination.protocol === 'udp' ? '' : `;transport=${destination.protocol}`;
    const contacts = request.contact.map((c) => {
      if (c.wildcard === true) return '*';
      // Our own address for the carrier; the AOR user stays, so inbound calls can be mapped back
      const params = [...c.params].map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('');
      return `<sip:${encodeURIComponent(user)}@${host}:${local.port}${transport}>${params}`;
    });
    const headers: Array<readonly [string, string]> = [
      ['Via', `SIP/2.0/${destination.protocol.toUpperCase()} ${host}:${local.port};branch=${newBranch()};rport`],
      ['Max-Forwards', String(Math.max(0, (request.maxForwards ?? 70) - 1))],
      ['From', `${formatNameAddr(stripTag(request.from))};tag=${call.fromTag}`],
      ['To', formatNameAddr(stripTag(request.to))],
      ['Call-ID', call.bCallId],
      ['CSeq', `${call.bSeq} REGISTER`],
      ...contacts.map((c) => ['Contact', c] as const),
      ...this.#options.headers.carry(request.headers),
    ];
    const register = buildRequest({ method: 'REGISTER', uri: this.#options.registrar, headers, body: request.body });
    this.#options.signalling.sendRequest(register, destination, {
      onResponse: (response) => this.#onResponse(incoming, user, response),
      onTimeout: () => incoming.respond(408),
      onTransportError: () => incoming.respond(503, { reason: 'Registrar Unreachable' }),
    });
  }

  #onResponse(incoming: IncomingRequest, user: string, response: SipResponse): void {
    if (response.status < 200) return;
    const request = incoming.request;
    const carried = this.#options.headers.carry(response.headers);
    if (response.status >= 300) {
      incoming.respond(response.status, { reason: response.reason, headers: carried });
      return;
    }
    // The binding the registrar granted: the smallest expires it returned for our contact(s)
    const granted = response.contact.flatMap((c) => (c.wildcard === true ? [] : [c.params.get('expires')]));
    const expiresHeader = getHeader(response, 'Expires');
    const seconds = Math.min(
      ...granted.filter((v): v is string => typeof v === 'string').map(Number),
      expiresHeader === undefined ? DEFAULT_EXPIRES_SECONDS : Number(expiresHeader),
    );
    const pbxContacts = request.contact.filter((c): c is NameAddr & { wildcard?: false } => c.wildcard !== true);
    const first = pbxContacts[0]?.uri;
    const removing = request.contact.some((c) => c.wildcard === true) || seconds === 0;
    if (removing) this.#bindings.delete(user);
    else if (first !== undefined && isSipUri(first)) {
      this.#bindings.set(user, { user, contact: first, expiresAt: this.#now() + seconds * 1000 });
    }
    const contacts = removing
      ? []
      : pbxContacts.map((c) => {
          const params = new Map(c.params);
          params.set('expires', String(seconds));
          return ['Contact', formatNameAddr({ displayName: c.displayName, uri: c.uri, params })] as const;
        });
    this.#options.logger.info({ user: maskUser(user), expires: removing ? 0 : seconds }, 'registration relayed');
    incoming.respond(response.status, {
      reason: response.reason,
      headers: [...carried.filter(([n]) => n !== 'Expires'), ['Expires', String(removing ? 0 : seconds)], ...contacts],
    });
  }

  #callFor(pbxCallId: string): RegistrationCall {
    let call = this.#calls.get(pbxCallId);
    if (call === undefined) {
      if (this.#calls.size >= MAX_REGISTRATION_CALLS) this.#calls.clear();
      call = {
        bCallId: `${randomBytes(12).toString('hex')}@callrec`,
        fromTag: randomBytes(6).toString('hex'),
        bSeq: 0,
      };
      this.#calls.set(pbxCallId, call);
    }
    return call;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [user, binding] of this.#bindings) if (binding.expiresAt <= now) this.#bindings.delete(user);
  }
}

function stripTag(value: NameAddr): NameAddr {
  if (!value.params.has('tag')) return value;
  const params = new Map(value.params);
  params.delete('tag');
  return { displayName: value.displayName, uri: value.uri, params };
}

function maskUser(user: string): string {
  return user.length <= 3 ? user : `${user.slice(0, 2)}***${user.slice(-1)}`;
}

/** A SIP URI for the PBX's contact, as the B leg's Request-URI. */
export function contactTarget(contact: SipUri): SipUri {
  return sipUri({
    scheme: contact.scheme,
    ...(contact.user === undefined ? {} : { user: contact.user }),
    host: contact.host,
    ...(contact.port === undefined ? {} : { port: contact.port }),
    params: [...contact.params].filter(([k]) => k === 'transport'),
  });
}
