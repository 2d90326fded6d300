import { createResponse, Dialog, type SipRequest } from '../sip/index.js';
import type { CallContext } from './call-context.js';
import type { CallerInvite } from './caller-invite.js';
import { sendRequestToLeg } from './send-to-leg.js';

/**
 * The caller's dialog when callrec answers it itself before the callee is called (announcement
 * in `answer-first` mode): 200 with callrec's SDP, retransmitted until the ACK (RFC 3261
 * §13.3.1.4), the dialog registered so BYE and INFO from the caller reach the call. When the
 * callee answers, the dialog is released and the call's dialog pair takes its place (same tags);
 * when the call fails first, the caller gets a BYE.
 */
export class AnsweredCaller {
  readonly #context: CallContext;
  readonly #callId: string;
  readonly #caller: CallerInvite;
  #dialog: Dialog | undefined;
  #ack: SipRequest | undefined;
  #done = false;

  constructor(context: CallContext, callId: string, caller: CallerInvite) {
    this.#context = context;
    this.#callId = callId;
    this.#caller = caller;
  }

  /** Whether the caller was answered by callrec and the dialog is still callrec's own. */
  get active(): boolean {
    return this.#dialog !== undefined && !this.#done;
  }

  /** The caller's ACK for callrec's 200 (its body answers a late offer); undefined before it. */
  get ack(): SipRequest | undefined {
    return this.#ack;
  }

  /** Sends 200 with `sdp` and sets up the dialog; `onNoAck` when the caller never ACKs. */
  answer(sdp: Buffer, onNoAck: () => void): void {
    const caller = this.#caller;
    const incoming = caller.incoming;
    const contact = caller.contact();
    const sent = caller.respond(200, {
      toTag: incoming.toTag,
      headers: [
        ['Contact', contact],
        ['Content-Type', 'application/sdp'],
      ],
      body: sdp,
    });
    const protocol = incoming.source.protocol;
    // The dialog is seeded with our tag and Contact only (as the pair's caller-side dialog is)
    const seed = createResponse(caller.request, 200, { toTag: incoming.toTag, headers: [['Contact', contact]] });
    const dialog = Dialog.asUas(caller.request, seed, {
      via: this.#context.via(protocol),
      localContact: contact,
      protocol,
    });
    dialog.confirm();
    this.#dialog = dialog;
    this.#context.addDialog(dialog, 'a');
    caller.retransmitUntilAck(sent, onNoAck);
  }

  /** The caller's ACK for the 200 arrived. */
  acknowledged(ack: SipRequest): void {
    this.#ack ??= ack;
  }

  /** The callee answered: the dialog pair takes over the caller's dialog (same Call-ID and tags). */
  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#dialog?.terminate();
  }

  /** The call ends before the callee answered: BYE to the caller (unless it hung up itself). */
  bye(reason: string, byCaller = false): void {
    const dialog = this.#dialog;
    if (this.#done || dialog === undefined) return;
    this.#done = true;
    if (!byCaller && dialog.state !== 'terminated') {
      try {
        const bye = dialog.createRequest('BYE', { headers: [['Reason', `SIP;text="${reason.replace(/"/g, "'")}"`]] });
        sendRequestToLeg(this.#context, this.#callId, bye, () => undefined);
      } catch {
        // a dialog that cannot send any more is already gone
      }
    }
    dialog.terminate();
  }
}
