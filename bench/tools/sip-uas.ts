/** The UAS (PBX side) of `SipLoad`: answers callrec's INVITEs, ACKs, BYEs and other requests. */
import type { RemoteInfo, Socket } from 'node:dgram';
import {
  header,
  parseSip,
  sendSip,
  sipResponse,
  tagOf,
  token,
  T1_MS,
  T2_MS,
  TRANSACTION_TIMEOUT_MS,
} from './sip-message.js';

/** What the UAS answers for an incoming INVITE: an SDP body, or a status code to reject with. */
export type UasAnswer = { readonly sdp: string } | { readonly status: number };

interface UasState {
  readonly benchId: number;
  readonly toTag: string;
  /** The SDP answer (again in the 200 to a re-INVITE). */
  readonly sdp: string | undefined;
  lastInviteResponse: string;
  readonly source: RemoteInfo;
  acked: boolean;
  retransmit: NodeJS.Timeout | undefined;
  interval: number;
  deadline: number;
  byeReceived: boolean;
}

/** The PBX side of the bench on its own UDP socket. */
export class SipUas {
  readonly #uas: Socket;
  readonly #uasHost: string;
  readonly #answer: (benchId: number, offer: string) => UasAnswer;
  readonly #uasCalls = new Map<string, UasState>();
  #retransmissions = 0;
  #uasInvites = 0;
  #uasAcks = 0;
  #uasByes = 0;

  constructor(uas: Socket, uasHost: string, answer: (benchId: number, offer: string) => UasAnswer) {
    this.#uas = uas;
    this.#uasHost = uasHost;
    this.#answer = answer;
    uas.on('message', (data, from) => this.#onUas(data, from));
  }

  /** 2xx retransmissions so far. */
  get retransmissions(): number {
    return this.#retransmissions;
  }

  get invites(): number {
    return this.#uasInvites;
  }

  get acks(): number {
    return this.#uasAcks;
  }

  /** BYEs received so far (callrec relaying the caller's BYE). */
  get byes(): number {
    return this.#uasByes;
  }

  /** Stops the 2xx retransmissions (the socket is closed by its owner). */
  clearTimers(): void {
    for (const state of this.#uasCalls.values()) clearTimeout(state.retransmit);
  }

  #send(text: string, destination: { host: string; port: number }): void {
    sendSip(this.#uas, text, destination);
  }

  #onUas(data: Buffer, from: RemoteInfo): void {
    const message = parseSip(data);
    if (message === undefined || !message.request) return;
    const reply = { host: from.address, port: from.port };
    const callId = header(message, 'call-id');
    const existing = this.#uasCalls.get(callId);
    const contact = `<sip:pbx@${this.#uasHost}:${this.#uas.address().port}>`;
    switch (message.method) {
      case 'INVITE': {
        if (existing !== undefined) {
          if (tagOf(header(message, 'to')) === undefined) {
            // a retransmission of the initial INVITE: the last response again
            this.#send(existing.lastInviteResponse, reply);
          } else {
            // a re-INVITE: accept with an answer for the same stream
            const sdp = message.body === '' ? undefined : existing.sdp;
            this.#send(sipResponse(message, 200, 'OK', { contact, ...(sdp === undefined ? {} : { sdp }) }), reply);
          }
          return;
        }
        this.#uasInvites += 1;
        const benchHeader = header(message, 'x-bench-call');
        const fromUser = /sips?:\+?(\d+)@/i.exec(header(message, 'from'))?.[1];
        const benchId =
          benchHeader !== '' ? Number(benchHeader) : fromUser !== undefined ? Number(fromUser.slice(-7)) : NaN;
        const toTag = token(6);
        this.#send(sipResponse(message, 100, 'Trying'), reply);
        const answer = Number.isInteger(benchId) ? this.#answer(benchId, message.body) : { status: 404 };
        if ('status' in answer) {
          const response = sipResponse(message, answer.status, 'Rejected', { toTag });
          this.#uasCalls.set(callId, {
            benchId,
            toTag,
            sdp: undefined,
            lastInviteResponse: response,
            source: from,
            acked: true,
            retransmit: undefined,
            interval: 0,
            deadline: 0,
            byeReceived: false,
          });
          this.#send(response, reply);
          return;
        }
        this.#send(sipResponse(message, 180, 'Ringing', { toTag, contact }), reply);
        const ok = sipResponse(message, 200, 'OK', { toTag, contact, sdp: answer.sdp });
        const state: UasState = {
          benchId,
          toTag,
          sdp: answer.sdp,
          lastInviteResponse: ok,
          source: from,
          acked: false,
          retransmit: undefined,
          interval: T1_MS,
          deadline: performance.now() + TRANSACTION_TIMEOUT_MS,
          byeReceived: false,
        };
        this.#uasCalls.set(callId, state);
        this.#send(ok, reply);
        // RFC 3261 §13.3.1.4: the 2xx is retransmitted until the ACK arrives
        const again = (): void => {
          if (state.acked || performance.now() > state.deadline) return;
          this.#retransmissions += 1;
          this.#send(ok, reply);
          state.interval = Math.min(state.interval * 2, T2_MS);
          state.retransmit = setTimeout(again, state.interval);
        };
        state.retransmit = setTimeout(again, state.interval);
        return;
      }
      case 'ACK':
        if (existing !== undefined && !existing.acked) {
          existing.acked = true;
          clearTimeout(existing.retransmit);
          this.#uasAcks += 1;
        }
        return;
      case 'BYE':
        if (existing !== undefined && !existing.byeReceived) {
          existing.byeReceived = true;
          clearTimeout(existing.retransmit);
          this.#uasByes += 1;
        }
        this.#send(sipResponse(message, 200, 'OK'), reply);
        return;
      case 'CANCEL':
        this.#send(sipResponse(message, 200, 'OK'), reply);
        return;
      default:
        this.#send(sipResponse(message, 200, 'OK'), reply);
    }
  }
}
