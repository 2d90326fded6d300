import {
  Dialog,
  Uas2xxRetransmitter,
  createResponse,
  type IncomingRequest,
  type SipRequest,
  type SipResponse,
} from '../sip/index.js';
import type { CallContext } from './call-context.js';
import type { FeatureCodeOutcome } from './call-policy.js';

/** How long the answered feature-code call stays up before callrec hangs up. */
const HOLD_MS = 800;

/**
 * An SDP answer that rejects every offered stream (RFC 3264 §6: port 0): the call is answered for
 * signalling only (when no confirmation tone could be played in early media).
 */
export function rejectingAnswer(offer: Buffer, address: string): Buffer {
  const lines = offer.toString('utf8').split(/\r?\n/);
  const media = lines
    .filter((l) => l.startsWith('m='))
    .map((l) => {
      const [kind, , proto, ...formats] = l.slice(2).split(' ');
      return `m=${kind ?? 'audio'} 0 ${proto ?? 'RTP/AVP'} ${formats.join(' ') || '0'}`;
    });
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  const session = Date.now();
  return Buffer.from(
    [
      `v=0`,
      `o=callrec ${session} ${session} IN ${ip} ${address}`,
      's=callrec',
      `c=IN ${ip} ${address}`,
      't=0 0',
      ...media,
      '',
    ].join('\r\n'),
  );
}

/**
 * A call to a group feature code (SPEC §3): callrec answers it itself — it never reaches the
 * trunk — with the outcome in the reason phrase (after the confirmation tone, see
 * `playOutcomeTone`): 200 then BYE when it worked, 403 with the reason otherwise.
 */
export class FeatureCodeCall {
  readonly #context: CallContext;
  readonly #incoming: IncomingRequest;
  #dialog: Dialog | undefined;
  #retransmitter: Uas2xxRetransmitter | undefined;
  #ended = false;

  readonly #onEnded: () => void;

  constructor(context: CallContext, incoming: IncomingRequest, onEnded: () => void) {
    this.#context = context;
    this.#incoming = incoming;
    this.#onEnded = onEnded;
  }

  /** Answers with the outcome (`sdp`: the tone's answer); returns the dialog to index when one was created. */
  answer(outcome: FeatureCodeOutcome, sdp?: Buffer): Dialog | undefined {
    const request = this.#incoming.request;
    if (!outcome.ok) {
      this.#incoming.respond(403, { reason: outcome.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 80) });
      this.#onEnded();
      return undefined;
    }
    const protocol = this.#incoming.source.protocol;
    const via = this.#context.via(protocol);
    const contact = this.#context.contact(protocol);
    const body = sdp ?? (request.body.length > 0 ? rejectingAnswer(request.body, via.host) : undefined);
    const sent = this.#incoming.respond(200, {
      reason: `OK (${outcome.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 60)})`,
      headers: [['Contact', contact], ...(body === undefined ? [] : [['Content-Type', 'application/sdp'] as const])],
      ...(body === undefined ? {} : { body }),
    });
    this.#dialog = Dialog.asUas(request, seed(request, sent), { via, localContact: contact, protocol });
    this.#dialog.confirm();
    this.#retransmitter = new Uas2xxRetransmitter({
      clock: this.#context.clock,
      timers: this.#context.timers,
      retransmit: () =>
        void this.#context.sendStateless(sent, this.#incoming.responseDestination).catch(() => undefined),
      onNoAck: () => this.#hangUp(),
    });
    this.#retransmitter.start();
    return this.#dialog;
  }

  /** The caller's ACK: the call is up; hang up shortly after. */
  onAck(): void {
    if (this.#retransmitter === undefined || this.#ended) return;
    this.#retransmitter.acknowledge();
    this.#context.clock.setTimer(() => this.#hangUp(), HOLD_MS);
  }

  /** The caller hung up first. */
  onBye(incoming: IncomingRequest): void {
    incoming.respond(200);
    this.#ended = true;
    this.#retransmitter?.stop();
    this.#dialog?.terminate();
    this.#onEnded();
  }

  #hangUp(): void {
    if (this.#ended || this.#dialog === undefined) return;
    this.#ended = true;
    this.#retransmitter?.stop();
    const bye = this.#dialog.createRequest('BYE');
    this.#dialog.terminate();
    this.#onEnded();
    void this.#context.resolve(bye.route[0]?.uri ?? bye.uri).then(
      (destination) =>
        this.#context.sendRequest(bye, destination, {
          onResponse: () => undefined,
          onTimeout: () => undefined,
          onTransportError: () => undefined,
        }),
      () => undefined,
    );
  }
}

function seed(request: SipRequest, sent: SipResponse): SipResponse {
  return createResponse(request, 200, {
    toTag: sent.to.params.get('tag') ?? '',
    headers: sent.headers.filter((h) => h.name === 'Contact').map((h) => [h.name, h.value] as const),
  });
}
