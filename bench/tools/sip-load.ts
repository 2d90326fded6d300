/**
 * The SIP side of the `media.bench.ts` load generator: a minimal RFC 3261 UAC (the trunk,
 * 127.0.0.1) and UAS (the PBX, 127.0.0.3, `SipUas`) with hand-built text messages: INVITE with an
 * SDP offer (PCMU + telephone-event) / 100 / 180 / 200 with SDP / ACK, BYE / 200, OPTIONS
 * answered; INVITE, BYE and the UAS's 2xx retransmitted on T1 doubling, duplicates answered again.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import {
  branch,
  cseqOf,
  header,
  headerAll,
  hostPortOf,
  parseSip,
  sendSip,
  sipResponse,
  token,
  uriOf,
  T1_MS,
  T2_MS,
  TRANSACTION_TIMEOUT_MS,
  type SipMessage,
} from './sip-message.js';
import { SipUas, type UasAnswer } from './sip-uas.js';

export interface SipLoadOptions {
  /** callrec's SIP listener. */
  readonly target: { readonly host: string; readonly port: number };
  /** @default 127.0.0.1 (the trunk) */
  readonly uacHost?: string;
  /** @default 127.0.0.3 (the PBX) */
  readonly uasHost?: string;
  /** The port of pbx.uri. */
  readonly uasPort: number;
  /** Request-URI and To user of the INVITEs. */
  readonly calledNumber: string;
  /** The UAS's answer to callrec's INVITE of bench call `benchId` (X-Bench-Call, or the From user). */
  readonly answer: (benchId: number, offer: string) => UasAnswer;
}

/** A UAC dialog, after the 2xx was ACKed. */
export interface UacCall {
  readonly benchId: number;
  readonly callId: string;
  /** callrec's SDP answer. */
  readonly answer: string;
  /** performance.now() when the 2xx arrived (the ACK went out). */
  readonly connectedAt: number;
}

interface UacState {
  readonly benchId: number;
  readonly callId: string;
  readonly fromTag: string;
  readonly fromUser: string;
  toHeader: string;
  remoteTarget: string;
  routeSet: string[];
  inviteBranch: string;
  ack: string | undefined;
  ackTo: { host: string; port: number };
  connectedAt: number;
  byeSentAt: number;
  /** The open client transaction (INVITE, then BYE): its request, timers, outcome. */
  transaction:
    | {
        readonly method: 'INVITE' | 'BYE';
        readonly text: string;
        readonly destination: { host: string; port: number };
        interval: number;
        provisional: boolean;
        retransmit: NodeJS.Timeout | undefined;
        readonly timeout: NodeJS.Timeout;
        readonly resolve: (m: SipMessage) => void;
        readonly reject: (e: Error) => void;
      }
    | undefined;
  endedByPeer: boolean;
}

/** Counters of a SipLoad. */
export interface SipStats {
  readonly invitesSent: number;
  readonly connected: number;
  readonly failed: number;
  readonly retransmissions: number;
  readonly uasInvites: number;
  readonly uasAcks: number;
  readonly uasByes: number;
  /** BYEs callrec sent to the caller (media timeout, shutdown). */
  readonly uacByesReceived: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** The UAC (trunk side) and UAS (PBX side) of the bench, one UDP socket each. */
export class SipLoad {
  readonly #options: SipLoadOptions;
  readonly #uac: Socket;
  readonly #uas: Socket;
  readonly #uacHost: string;
  readonly #server: SipUas;
  readonly #uacCalls = new Map<string, UacState>();
  #invitesSent = 0;
  #connected = 0;
  #failed = 0;
  #retransmissions = 0;
  #uacByesReceived = 0;
  readonly #failures: Record<string, number> = {};

  private constructor(options: SipLoadOptions, uac: Socket, uas: Socket) {
    this.#options = options;
    this.#uac = uac;
    this.#uas = uas;
    this.#uacHost = options.uacHost ?? '127.0.0.1';
    uac.on('message', (data, from) => this.#onUac(data, from));
    this.#server = new SipUas(uas, options.uasHost ?? '127.0.0.3', options.answer);
  }

  static async create(options: SipLoadOptions): Promise<SipLoad> {
    const bind = (host: string, port: number) =>
      new Promise<Socket>((resolve, reject) => {
        const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
        socket.once('error', reject);
        socket.bind(port, host, () => {
          socket.removeListener('error', reject);
          socket.on('error', () => undefined);
          resolve(socket);
        });
      });
    const uac = await bind(options.uacHost ?? '127.0.0.1', 0);
    const uas = await bind(options.uasHost ?? '127.0.0.3', options.uasPort);
    return new SipLoad(options, uac, uas);
  }

  stats(): SipStats {
    return {
      invitesSent: this.#invitesSent,
      connected: this.#connected,
      failed: this.#failed,
      retransmissions: this.#retransmissions + this.#server.retransmissions,
      uasInvites: this.#server.invites,
      uasAcks: this.#server.acks,
      uasByes: this.#server.byes,
      uacByesReceived: this.#uacByesReceived,
      failures: { ...this.#failures },
    };
  }

  /** Sends an INVITE for bench call `benchId` offering `sdp`; resolves once the 2xx is ACKed. */
  async invite(benchId: number, callerNumber: string, sdp: string): Promise<UacCall> {
    const { host, port } = this.#options.target;
    const local = this.#uacAddress();
    const callId = `${token(10)}@${this.#uacHost}`;
    const state: UacState = {
      benchId,
      callId,
      fromTag: token(6),
      fromUser: callerNumber,
      toHeader: `<sip:${this.#options.calledNumber}@${host}:${port}>`,
      remoteTarget: '',
      routeSet: [],
      inviteBranch: branch(),
      ack: undefined,
      ackTo: { host, port },
      connectedAt: 0,
      byeSentAt: 0,
      transaction: undefined,
      endedByPeer: false,
    };
    this.#uacCalls.set(callId, state);
    const text = [
      `INVITE sip:${this.#options.calledNumber}@${host}:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local};branch=${state.inviteBranch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${callerNumber}@${this.#uacHost}>;tag=${state.fromTag}`,
      `To: ${state.toHeader}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:bench@${local}>`,
      'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS',
      `X-Bench-Call: ${benchId}`,
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ].join('\r\n');
    this.#invitesSent += 1;
    let response: SipMessage;
    try {
      response = await this.#transaction(state, 'INVITE', text, { host, port });
    } catch (error) {
      this.#fail('INVITE timeout');
      this.#uacCalls.delete(callId);
      throw error;
    }
    if (response.status >= 300) {
      this.#fail(`INVITE ${response.status}`);
      this.#uacCalls.delete(callId);
      throw new Error(`INVITE answered ${response.status}`);
    }
    this.#connected += 1;
    return { benchId, callId, answer: response.body, connectedAt: state.connectedAt };
  }

  /** Sends BYE in the dialog of `call`; resolves with the time it was sent, once answered. */
  async bye(call: UacCall): Promise<number> {
    const state = this.#uacCalls.get(call.callId);
    if (state === undefined) throw new Error('no such dialog');
    if (state.endedByPeer) {
      this.#uacCalls.delete(state.callId);
      return performance.now();
    }
    const local = this.#uacAddress();
    const text = [
      `BYE ${state.remoteTarget} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local};branch=${branch()};rport`,
      'Max-Forwards: 70',
      ...state.routeSet.map((r) => `Route: ${r}`),
      `From: <sip:${state.fromUser}@${this.#uacHost}>;tag=${state.fromTag}`,
      `To: ${state.toHeader}`,
      `Call-ID: ${state.callId}`,
      'CSeq: 2 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    state.byeSentAt = performance.now();
    try {
      const response = await this.#transaction(state, 'BYE', text, state.ackTo);
      if (response.status >= 300) this.#fail(`BYE ${response.status}`);
    } catch (error) {
      this.#fail('BYE timeout');
      throw error;
    } finally {
      this.#uacCalls.delete(state.callId);
    }
    return state.byeSentAt;
  }

  close(): void {
    for (const state of this.#uacCalls.values()) {
      const t = state.transaction;
      if (t !== undefined) {
        clearTimeout(t.retransmit);
        clearTimeout(t.timeout);
      }
    }
    this.#server.clearTimers();
    this.#uac.close();
    this.#uas.close();
  }

  #uacAddress(): string {
    return `${this.#uacHost}:${this.#uac.address().port}`;
  }

  #fail(reason: string): void {
    this.#failed += 1;
    this.#failures[reason] = (this.#failures[reason] ?? 0) + 1;
  }

  #send(socket: Socket, text: string, destination: { host: string; port: number }): void {
    sendSip(socket, text, destination);
  }

  /** A client transaction: retransmits on T1 doubling (INVITE until a provisional), Timer B/F. */
  #transaction(
    state: UacState,
    method: 'INVITE' | 'BYE',
    text: string,
    destination: { host: string; port: number },
  ): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const transaction: NonNullable<UacState['transaction']> = {
        method,
        text,
        destination,
        interval: T1_MS,
        provisional: false,
        retransmit: undefined,
        timeout: setTimeout(() => {
          clearTimeout(transaction.retransmit);
          state.transaction = undefined;
          reject(new Error(`${method} timed out`));
        }, TRANSACTION_TIMEOUT_MS),
        resolve,
        reject,
      };
      const again = (): void => {
        if (state.transaction !== transaction) return;
        if (method === 'INVITE' && transaction.provisional) return;
        this.#retransmissions += 1;
        this.#send(this.#uac, text, destination);
        transaction.interval =
          method === 'INVITE' ? transaction.interval * 2 : Math.min(transaction.interval * 2, T2_MS);
        transaction.retransmit = setTimeout(again, transaction.interval);
      };
      state.transaction = transaction;
      this.#send(this.#uac, text, destination);
      transaction.retransmit = setTimeout(again, transaction.interval);
    });
  }

  #onUac(data: Buffer, from: RemoteInfo): void {
    const message = parseSip(data);
    if (message === undefined) return;
    if (message.request) {
      this.#answerUacRequest(message, from);
      return;
    }
    const state = this.#uacCalls.get(header(message, 'call-id'));
    if (state === undefined) return;
    const cseq = cseqOf(message);
    if (cseq.method === 'INVITE') this.#onInviteResponse(state, message);
    else if (cseq.method === 'BYE') {
      const t = state.transaction;
      if (t?.method !== 'BYE' || message.status < 200) return;
      clearTimeout(t.retransmit);
      clearTimeout(t.timeout);
      state.transaction = undefined;
      t.resolve(message);
    }
  }

  #onInviteResponse(state: UacState, message: SipMessage): void {
    const t = state.transaction?.method === 'INVITE' ? state.transaction : undefined;
    if (message.status < 200) {
      if (t !== undefined) t.provisional = true;
      return;
    }
    if (message.status >= 300) {
      // RFC 3261 §17.1.1.3: ACK a non-2xx final response in the INVITE's transaction
      const ack = [
        `ACK sip:${this.#options.calledNumber}@${this.#options.target.host}:${this.#options.target.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.#uacAddress()};branch=${state.inviteBranch};rport`,
        'Max-Forwards: 70',
        `From: <sip:${state.fromUser}@${this.#uacHost}>;tag=${state.fromTag}`,
        `To: ${header(message, 'to')}`,
        `Call-ID: ${state.callId}`,
        'CSeq: 1 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      this.#send(this.#uac, ack, this.#options.target);
    } else if (state.ack !== undefined) {
      // a retransmitted 2xx: its ACK again (RFC 3261 §13.2.2.4)
      this.#send(this.#uac, state.ack, state.ackTo);
      return;
    } else {
      state.toHeader = header(message, 'to');
      state.remoteTarget = uriOf(header(message, 'contact'));
      state.routeSet = headerAll(message, 'record-route')
        .flatMap((v) => v.split(/,(?=\s*<)/))
        .map((v) => v.trim())
        .reverse();
      const next = hostPortOf(state.routeSet.length > 0 ? uriOf(state.routeSet[0] as string) : state.remoteTarget);
      state.ackTo = next ?? this.#options.target;
      state.ack = [
        `ACK ${state.remoteTarget} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.#uacAddress()};branch=${branch()};rport`,
        'Max-Forwards: 70',
        ...state.routeSet.map((r) => `Route: ${r}`),
        `From: <sip:${state.fromUser}@${this.#uacHost}>;tag=${state.fromTag}`,
        `To: ${state.toHeader}`,
        `Call-ID: ${state.callId}`,
        'CSeq: 1 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      state.connectedAt = performance.now();
      this.#send(this.#uac, state.ack, state.ackTo);
    }
    if (t !== undefined) {
      clearTimeout(t.retransmit);
      clearTimeout(t.timeout);
      state.transaction = undefined;
      t.resolve(message);
    }
  }

  /** Requests callrec sends the caller: BYE (media timeout, shutdown), OPTIONS; all get 200. */
  #answerUacRequest(message: SipMessage, from: RemoteInfo): void {
    if (message.method === 'ACK') return;
    if (message.method === 'BYE') {
      const state = this.#uacCalls.get(header(message, 'call-id'));
      if (state !== undefined && !state.endedByPeer) {
        state.endedByPeer = true;
        this.#uacByesReceived += 1;
      }
    }
    this.#send(this.#uac, sipResponse(message, 200, 'OK'), { host: from.address, port: from.port });
  }
}
