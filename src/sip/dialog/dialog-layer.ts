import { AppError } from '../../errors.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import { Dialog, type DialogOptions } from './dialog.js';
import { dialogIdOfRequest, dialogIdOfResponse, dialogKey, type DialogId } from './dialog-id.js';

/** Call-ID + local tag: the dialogs one INVITE created (several when it forked). */
function usageKey(callId: string, localTag: string): string {
  return `${callId}\u0000${localTag}`;
}

/**
 * The UA's dialogs by ID (RFC 3261 §12), with O(1) lookups for incoming requests and responses
 * and, per initial request (Call-ID + local tag), the set of dialogs forking produced. Terminated
 * dialogs leave the layer.
 */
export class DialogLayer {
  readonly #dialogs = new Map<string, Dialog>();
  readonly #byUsage = new Map<string, Set<Dialog>>();

  get size(): number {
    return this.#dialogs.size;
  }

  /** Stores a dialog; it is removed when it terminates. Throws SIP_DIALOG_STATE for a duplicate ID. */
  add(dialog: Dialog): Dialog {
    if (dialog.state === 'terminated') throw new AppError('SIP_DIALOG_STATE', 'cannot add a terminated dialog');
    if (this.#dialogs.has(dialog.key)) throw new AppError('SIP_DIALOG_STATE', `dialog ${dialog.key} exists`);
    this.#dialogs.set(dialog.key, dialog);
    const usage = usageKey(dialog.callId, dialog.localTag);
    let set = this.#byUsage.get(usage);
    if (set === undefined) this.#byUsage.set(usage, (set = new Set()));
    set.add(dialog);
    dialog.whenTerminated(() => this.#forget(dialog));
    return dialog;
  }

  get(id: DialogId): Dialog | undefined {
    return this.#dialogs.get(dialogKey(id));
  }

  /** §12.2.2: the dialog of an incoming request — Call-ID, To tag as local tag, From tag as remote tag. */
  findForRequest(request: SipRequest): Dialog | undefined {
    const id = dialogIdOfRequest(request);
    return id === undefined ? undefined : this.#dialogs.get(dialogKey(id));
  }

  /** §12.2.1.2: the dialog of a response — Call-ID, From tag as local tag, To tag as remote tag. */
  findForResponse(response: SipResponse): Dialog | undefined {
    const id = dialogIdOfResponse(response);
    return id === undefined ? undefined : this.#dialogs.get(dialogKey(id));
  }

  /** All live dialogs created by the request with this Call-ID and local (From) tag. */
  dialogsOf(callId: string, localTag: string): Dialog[] {
    return [...(this.#byUsage.get(usageKey(callId, localTag)) ?? [])];
  }

  /**
   * UAC side, a response to the initial INVITE `invite` (RFC 3261 §12.1.2, §13.2.2.4):
   *  - a 101–199 with a To tag creates an early dialog per To tag (forking gives several), or
   *    updates the existing one;
   *  - a 2xx confirms the matching early dialog or creates a confirmed one (a 2xx from another
   *    fork creates its own dialog, which the UA ACKs and may BYE);
   *  - a 300–699 terminates every early dialog of the INVITE (§12.3);
   * Returns the dialog the response belongs to, if any.
   */
  receiveUacResponse(invite: SipRequest, response: SipResponse, options: DialogOptions = {}): Dialog | undefined {
    if (response.cseq.method !== 'INVITE') return undefined;
    const status = response.status;
    const localTag = invite.from.params.get('tag') ?? '';
    if (status >= 300) {
      for (const dialog of this.dialogsOf(invite.callId, localTag)) if (dialog.state === 'early') dialog.terminate();
      return undefined;
    }
    const existing = this.findForResponse(response);
    if (existing !== undefined) {
      existing.receiveResponse(response);
      return existing;
    }
    if (status <= 100 || (status < 200 && !response.to.params.has('tag'))) return undefined;
    return this.add(Dialog.asUac(invite, response, options));
  }

  /** Terminates every live dialog (shutdown). */
  close(): void {
    for (const dialog of [...this.#dialogs.values()]) dialog.terminate();
  }

  #forget(dialog: Dialog): void {
    if (this.#dialogs.get(dialog.key) === dialog) this.#dialogs.delete(dialog.key);
    const usage = usageKey(dialog.callId, dialog.localTag);
    const set = this.#byUsage.get(usage);
    if (set === undefined) return;
    set.delete(dialog);
    if (set.size === 0) this.#byUsage.delete(usage);
  }
}
