import { randomBytes } from 'node:crypto';
import { createResponse, Dialog, type SipResponse } from '../sip/index.js';
import type { CallContext, LegName } from './call-context.js';
import type { CalleeInvite } from './callee-invite.js';
import type { CallerInvite } from './caller-invite.js';

/** One early or confirmed dialog pair: the callee's fork and the caller-side dialog mirroring it. */
export interface DialogPair {
  readonly b: Dialog;
  readonly a: Dialog;
  readonly aTag: string;
}

/** What {@link DialogPairs} builds dialogs from. */
export interface DialogPairsInit {
  readonly context: CallContext;
  readonly caller: CallerInvite;
  readonly callee: CalleeInvite;
}

/**
 * The dialogs of one call: per callee fork (its To tag) the fork's dialog (leg b) and a
 * caller-side dialog mirroring it (leg a, with a To tag of its own); once a fork answers, only
 * its pair is kept. Every dialog is registered with the B2BUA so in-dialog requests find it.
 */
export class DialogPairs {
  readonly #context: CallContext;
  readonly #caller: CallerInvite;
  readonly #callee: CalleeInvite;
  readonly #pairs = new Map<string, DialogPair>();
  #confirmed: DialogPair | undefined;

  constructor(init: DialogPairsInit) {
    this.#context = init.context;
    this.#caller = init.caller;
    this.#callee = init.callee;
  }

  /** The pair of the fork that answered the call. */
  get confirmed(): DialogPair | undefined {
    return this.#confirmed;
  }

  /** The dialog pair of a callee fork (created on its first dialog-creating response). */
  forResponse(response: SipResponse): DialogPair | undefined {
    const bTag = response.to.params.get('tag');
    const invite = this.#callee.request;
    if (bTag === undefined || bTag === null || invite === undefined) return undefined;
    const existing = this.#pairs.get(bTag);
    if (existing !== undefined) {
      existing.b.receiveResponse(response);
      return existing;
    }
    if (response.contact.length === 0 && response.status >= 200) return undefined;
    const protocol = this.#callee.protocol;
    const b = Dialog.asUac(invite, response, {
      via: this.#context.via(protocol),
      localContact: this.#context.contact(protocol),
      protocol,
    });
    const caller = this.#caller.incoming;
    const aTag = this.#pairs.size === 0 ? caller.toTag : randomBytes(6).toString('hex');
    const aProtocol = caller.source.protocol;
    const a = Dialog.asUas(caller.request, this.#syntheticResponse(aTag), {
      via: this.#context.via(aProtocol),
      localContact: this.#context.contact(aProtocol),
      protocol: aProtocol,
    });
    const pair: DialogPair = { a, b, aTag };
    this.#pairs.set(bTag, pair);
    this.#context.addDialog(a, 'a');
    this.#context.addDialog(b, 'b');
    return pair;
  }

  /** The fork of `pair` answered: it is the call's pair, every other fork's dialogs end. */
  confirm(pair: DialogPair): void {
    this.#confirmed = pair;
    for (const [key, other] of this.#pairs) {
      if (other === pair) continue;
      other.a.terminate();
      other.b.terminate();
      this.#pairs.delete(key);
    }
  }

  /** The confirmed pair's dialog on leg `leg`. */
  dialogOf(leg: LegName): Dialog | undefined {
    const pair = this.#confirmed;
    if (pair === undefined) return undefined;
    return leg === 'a' ? pair.a : pair.b;
  }

  /** The dialog on the other leg that mirrors `dialog` (confirmed pair or the early fork). */
  peerOf(dialog: Dialog, leg: LegName): Dialog | undefined {
    for (const pair of this.#confirmed === undefined ? this.#pairs.values() : [this.#confirmed]) {
      if ((leg === 'a' ? pair.a : pair.b) === dialog) return leg === 'a' ? pair.b : pair.a;
    }
    return undefined;
  }

  /** Terminates every pair's dialogs (the call failed or ended). */
  terminateAll(): void {
    for (const pair of this.#pairs.values()) {
      pair.a.terminate();
      pair.b.terminate();
    }
    this.#pairs.clear();
  }

  /** A response with our To tag and Contact, only to seed the caller-side dialog state. */
  #syntheticResponse(aTag: string): SipResponse {
    return createResponse(this.#caller.request, 180, {
      toTag: aTag,
      headers: [['Contact', this.#caller.contact()]],
    });
  }
}
