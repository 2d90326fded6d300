import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/index.js';
import type { Dialog } from '../sip/index.js';
import {
  DialogLayer,
  isSipUri,
  parseUri,
  sipUri,
  type Clock,
  type Endpoint,
  type IncomingRequest,
  type SipRequest,
  type SipUri,
  type SourceVerdict,
  type TimerConfig,
  type TransportProtocol,
} from '../sip/index.js';
import type { CallContext, LegName, SignallingPort } from './call-context.js';
import { callFactsOf, userOf } from './call-facts.js';
import { RECORD_NOTHING, type CallPolicy, type RecordingDecision } from './call-policy.js';
import { FeatureCodes } from './feature-codes.js';
import { maskDigits, refusedCallSummary, type CallObserver, type CallSummary } from './call-summary.js';
import type { MediaAnchor, RecordingAction } from './call-media-port.js';
import { contactTarget, RegistrationRelay } from './registration-relay.js';
import { CallSession } from './call-session.js';
import { HeaderPolicy } from './header-policy.js';
import { CallAdmission } from './limits.js';
import type { PeerSide, PeerTable } from './routing.js';
import { signallingContext, type SignallingServices } from './signalling-context.js';
import { SourceScreen } from './source-screen.js';

/** What callrec advertises in OPTIONS answers and 501/405 responses. */
export interface Capabilities {
  readonly allow: readonly string[];
  readonly accept: readonly string[];
  readonly supported: readonly string[];
}

export interface B2buaOptions {
  readonly peers: PeerTable;
  /** What a request from neither trunk nor PBX gets. @default '403' */
  readonly onNonPeer?: '403' | 'drop';
  readonly capabilities: Capabilities;
  readonly logger: Logger;
  readonly signalling: SignallingPort;
  readonly clock: Clock;
  readonly timers: TimerConfig;
  /** @default 120 */
  readonly ringTimeoutSeconds?: number;
  /** @default 2000 */
  readonly maxCalls?: number;
  /** @default 100 */
  readonly maxInvitesPerSecondPerSource?: number;
  /** @default 5 */
  readonly retryAfterSeconds?: number;
  /** Extra header names carried between legs. */
  readonly carryHeaders?: readonly string[];
  /** Log numbers unmasked. @default false */
  readonly personalData?: boolean;
  /** Who is recorded, and the feature codes. @default records nothing */
  readonly policy?: CallPolicy;
  /** Told when calls start and end (the protocol database). */
  readonly calls?: CallObserver;
  /** Anchors each call's RTP (and records it); without it SDP passes unchanged. */
  readonly media?: MediaAnchor;
}

/**
 * The B2BUA: peer ACL, routing of new calls between trunk and PBX, and dispatch of in-dialog
 * requests, ACKs and CANCELs to their CallSession.
 */
export class B2bua {
  #draining = false;
  readonly #options: B2buaOptions;
  readonly #screen: SourceScreen;
  readonly #dialogs = new DialogLayer();
  readonly #legs = new Map<Dialog, { session: CallSession; leg: LegName }>();
  readonly #sessions = new Map<string, CallSession>();
  readonly #admission: CallAdmission;
  readonly #headers: HeaderPolicy;
  readonly #registrations: RegistrationRelay | undefined;
  readonly #featureCodes: FeatureCodes;
  #policy: CallPolicy;

  constructor(options: B2buaOptions) {
    this.#options = options;
    this.#screen = new SourceScreen(options);
    this.#featureCodes = new FeatureCodes({
      dialogs: this.#dialogs,
      logger: options.logger,
      personalData: options.personalData ?? false,
    });
    this.#admission = new CallAdmission({
      maxCalls: options.maxCalls ?? 2000,
      invitesPerSecondPerSource: options.maxInvitesPerSecondPerSource ?? 100,
      retryAfterSeconds: options.retryAfterSeconds ?? 5,
      logger: options.logger,
    });
    this.#headers = new HeaderPolicy(options.carryHeaders);
    this.#policy = options.policy ?? RECORD_NOTHING;
    const registrar = parseUri(options.peers.uriOf('trunk'));
    this.#registrations =
      registrar !== undefined && isSipUri(registrar)
        ? new RegistrationRelay({
            signalling: options.signalling,
            headers: this.#headers,
            logger: options.logger,
            registrar,
          })
        : undefined;
  }

  /** A new recording policy (config reload): new calls use it, running calls keep their decision. */
  setPolicy(policy: CallPolicy): void {
    this.#policy = policy;
  }

  /** Live PBX registrations relayed to the trunk. */
  get registrationCount(): number {
    return this.#registrations?.count ?? 0;
  }

  /** Calls in progress (including ones waiting for a digest retry). */
  get callCount(): number {
    return this.#sessions.size;
  }

  /** Dialogs held (early and confirmed, both legs). */
  get dialogCount(): number {
    return this.#dialogs.size;
  }

  /** The ACL verdict for a source, applied by the UA core before any parsing or transaction. */
  screenSource(source: Endpoint): SourceVerdict {
    return this.#screen.verdict(source);
  }

  /** A request that passed the ACL and the §8.2 checks. */
  handleRequest(incoming: IncomingRequest): void {
    const { request } = incoming;
    const side = this.#options.peers.classify(incoming.source.address);
    if (side === undefined) {
      incoming.respond(403);
      return;
    }
    if (request.to.params.get('tag') !== undefined && request.to.params.get('tag') !== null) {
      this.#inDialog(incoming);
      return;
    }
    switch (request.method) {
      case 'INVITE':
        this.#newCall(incoming, side);
        return;
      case 'OPTIONS':
        this.#answerOptions(incoming, side);
        return;
      case 'REGISTER':
        // Only the PBX registers (toward the trunk); the carrier has nothing to register here
        if (side === 'pbx' && this.#registrations !== undefined) this.#registrations.relay(incoming);
        else incoming.respond(403, { reason: 'REGISTER Only From The PBX' });
        return;
      case 'BYE':
      case 'PRACK':
      case 'UPDATE':
      case 'INFO':
        incoming.respond(481);
        return;
      default:
        incoming.respond(405, { headers: [['Allow', this.#options.capabilities.allow.join(', ')]] });
    }
  }

  /** An ACK for a 2xx (its own transaction): to the call whose dialog it belongs to. */
  handleAck(ack: SipRequest): void {
    const dialog = this.#dialogs.findForRequest(ack);
    const featureCall = this.#featureCodes.callOf(dialog);
    if (featureCall !== undefined) {
      featureCall.onAck();
      return;
    }
    const entry = dialog === undefined ? undefined : this.#legs.get(dialog);
    entry?.session.onAck(ack, entry.leg);
  }

  /** A CANCEL matched a pending INVITE (the core answered the CANCEL with 200). */
  handleCancel(invite: SipRequest): void {
    const session = this.#sessions.get(callerKey(invite));
    session?.cancel();
  }

  /** Refuses new calls with 503 from now on (graceful shutdown); running calls continue. */
  drain(): void {
    this.#draining = true;
  }

  /** Pauses or resumes a call's recording (recording id or caller's Call-ID); false: no such recorded call. */
  controlRecording(callId: string, action: RecordingAction): boolean {
    return [...this.#sessions.values()].find((s) => s.answersTo(callId))?.controlRecording(action, 'api') ?? false;
  }

  hangUpAll(reason: string): void {
    for (const session of [...this.#sessions.values()]) session.hangUp('callrec', reason);
  }

  #inDialog(incoming: IncomingRequest): void {
    const dialog = this.#dialogs.findForRequest(incoming.request);
    const featureCall = this.#featureCodes.callOf(dialog);
    if (featureCall !== undefined) {
      if (incoming.request.method === 'BYE') featureCall.onBye(incoming);
      else incoming.respond(488);
      return;
    }
    const entry = dialog === undefined ? undefined : this.#legs.get(dialog);
    if (dialog === undefined || entry === undefined) {
      incoming.respond(481);
      return;
    }
    entry.session.relayInDialog(incoming, entry.leg, dialog);
  }

  #newCall(incoming: IncomingRequest, side: PeerSide): void {
    const request = incoming.request;
    const key = callerKey(request);
    const existing = this.#sessions.get(key);
    if (existing !== undefined) {
      if (existing.state === 'challenged') existing.retryAfterChallenge(incoming);
      else incoming.respond(482, { reason: 'Loop Detected' }); // §8.2.2.2 merged request
      return;
    }
    if (this.#isLoop(request)) {
      incoming.respond(482);
      return;
    }
    if (this.#draining) {
      // Graceful shutdown: new calls go elsewhere (RFC 3261 §21.5.4), running calls continue
      incoming.respond(503, {
        reason: 'Shutting Down',
        headers: [['Retry-After', String(this.#options.retryAfterSeconds ?? 5)]],
      });
      return;
    }
    if (this.#admission.refuseOverLimit(incoming, this.#sessions.size)) return;
    const facts = callFactsOf(request, side);
    const dialled = facts.calledNumbers[0];
    const action = side === 'pbx' && dialled !== undefined ? this.#policy.featureCode(dialled) : undefined;
    if (action !== undefined && dialled !== undefined) {
      // A group feature code from the PBX side: answered by callrec, never sent to the trunk
      const code = { policy: this.#policy, action, facts, dialled, context: this.#contextFor({}) };
      this.#featureCodes.answer(incoming, { ...code, media: this.#options.media });
      return;
    }
    const target = this.#targetFor(request, side);
    if (target === undefined) {
      incoming.respond(404, { reason: 'No Called Number' });
      return;
    }
    let decision: RecordingDecision;
    try {
      decision = this.#policy.decide(facts);
    } catch (error) {
      decision = { record: false, reason: `policy error: ${error instanceof Error ? error.message : String(error)}` };
      this.#options.logger.error({ err: decision.reason }, 'recording policy failed; call not recorded');
    }
    if (!decision.record && decision.refuse !== undefined) {
      this.#admission.refuseUnrecordable(incoming, facts.direction, decision.refuse);
      // The refusal is evidence (SPEC §4): a recorded desk's call was turned away, not connected unrecorded
      const refused = refusedCallSummary(randomUUID(), request, facts, decision, decision.refuse.status);
      this.#observe('started', refused);
      this.#observe('ended', refused);
      return;
    }
    const holder: { session?: CallSession } = {};
    const id = randomUUID();
    const anchor = this.#options.media;
    const openMedia =
      anchor === undefined
        ? undefined
        : () =>
            anchor.open({
              id,
              direction: facts.direction,
              decision,
              onMediaTimeout: () => holder.session?.hangUp('callrec', 'media timeout'),
            });
    const session = new CallSession({
      id,
      context: this.#contextFor(holder),
      direction: side === 'trunk' ? 'inbound' : 'outbound',
      incoming,
      target,
      decision,
      facts,
      ...(openMedia === undefined ? {} : { openMedia }),
      onEnded: (ended) => this.#forget(ended),
    });
    this.#options.logger.info(
      {
        call: session.id,
        direction: facts.direction,
        recorded: decision.record,
        profile: decision.record ? decision.profileId : null,
        decision: maskDigits(decision.reason, this.#options.personalData ?? false),
      },
      'call started',
    );
    holder.session = session;
    this.#sessions.set(key, session);
    this.#observe('started', session.summary());
    void session.start();
  }

  /** The B-leg Request-URI: the far side's URI with the dialled user part kept. */
  #targetFor(request: SipRequest, side: PeerSide): SipUri | undefined {
    const far = parseUri(this.#options.peers.uriOf(side === 'trunk' ? 'pbx' : 'trunk'));
    if (far === undefined || !isSipUri(far)) return undefined;
    const user = userOf(request.uri) ?? userOf(request.to.uri);
    if (user === undefined) return undefined;
    // Inbound calls to an AOR the PBX registered through callrec go to the PBX's real contact
    const registered = side === 'trunk' ? this.#registrations?.lookup(user) : undefined;
    if (registered !== undefined) return contactTarget(registered);
    const params: Array<readonly [string, string | null]> = [];
    const transport = far.params.get('transport');
    if (transport !== undefined) params.push(['transport', transport]);
    if (isSipUri(request.uri) && request.uri.params.get('user') === 'phone') params.push(['user', 'phone']);
    return sipUri({
      scheme: far.scheme,
      user,
      host: far.host,
      ...(far.port === undefined ? {} : { port: far.port }),
      params,
    });
  }

  /** A request that already passed through callrec (our own Via in it) is a loop (§16.3 step 4). */
  #isLoop(request: SipRequest): boolean {
    return request.via.some((via) => {
      const protocol = via.transport.toLowerCase() as TransportProtocol;
      if (protocol !== 'udp' && protocol !== 'tcp' && protocol !== 'tls') return false;
      const local = this.#options.signalling.localAddress(protocol);
      return via.host === local.host && (via.port ?? (protocol === 'tls' ? 5061 : 5060)) === local.port;
    });
  }

  #answerOptions(incoming: IncomingRequest, side: PeerSide): void {
    const { allow, accept, supported } = this.#options.capabilities;
    incoming.respond(200, {
      headers: [
        ['Allow', allow.join(', ')],
        ['Accept', accept.join(', ')],
        ['Supported', supported.join(', ')],
      ],
    });
    this.#options.logger.debug({ side, source: incoming.source.address }, 'OPTIONS answered');
  }

  #observe(event: 'started' | 'ended', call: CallSummary): void {
    const observer = this.#options.calls;
    if (observer === undefined) return;
    try {
      observer[event](call);
    } catch (error) {
      this.#options.logger.error(
        { call: call.id, err: error instanceof Error ? error.message : String(error) },
        `call observer failed (${event})`,
      );
    }
  }

  #forget(session: CallSession): void {
    this.#observe('ended', session.summary());
    for (const [key, value] of this.#sessions) if (value === session) this.#sessions.delete(key);
    for (const [dialog, entry] of this.#legs) {
      if (entry.session !== session) continue;
      dialog.terminate();
      this.#legs.delete(dialog);
    }
  }

  /** The services a session uses; dialogs it creates are indexed to `holder.session`. */
  #contextFor(holder: { session?: CallSession }): CallContext {
    const options = this.#options;
    const services: SignallingServices = {
      signalling: options.signalling,
      clock: options.clock,
      timers: options.timers,
      headers: this.#headers,
      logger: options.logger,
      ringTimeoutMs: (options.ringTimeoutSeconds ?? 120) * 1000,
      personalData: options.personalData ?? false,
    };
    return signallingContext(services, (dialog: Dialog, leg: LegName) => {
      const session = holder.session;
      if (session === undefined) return;
      // The dialog layer forgets terminated dialogs itself; #forget drops the session's index entries
      this.#dialogs.add(dialog);
      this.#legs.set(dialog, { session, leg });
    });
  }
}

function callerKey(request: SipRequest): string {
  return `${request.callId}\u0000${request.from.params.get('tag') ?? ''}`;
}
