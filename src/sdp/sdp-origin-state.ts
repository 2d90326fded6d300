/** Options of SdpOriginState. */
export interface SdpOriginStateOptions {
  /** o= username to use instead of the one of the first SDP sent. @default the first SDP's */
  readonly username?: string;
  /** o= session id to use instead of the one of the first SDP sent. @default the first SDP's */
  readonly sessionId?: string;
}

/** The o= values to write into one SDP body. */
export interface SdpOriginLine {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
}

/**
 * The o= line callrec presents to one leg. RFC 3264 §8: every SDP one side sends in a session
 * keeps the same o= line except the version, which increments when the session changes. The far
 * side's own o= line may change (transfer, a new media server), so callrec keeps its own per leg:
 * username and session id from the first SDP sent, the version bumped only when the body changes.
 */
export class SdpOriginState {
  #username: string | undefined;
  #sessionId: string | undefined;
  #version = -1n;
  #lastBody: string | undefined;

  constructor(options: SdpOriginStateOptions = {}) {
    this.#username = options.username;
    this.#sessionId = options.sessionId;
  }

  /** The version last handed out, or undefined before the first SDP. */
  get sessionVersion(): string | undefined {
    return this.#version < 0n ? undefined : this.#version.toString();
  }

  /**
   * The o= values for `body` (the SDP text without its o= line): the first call adopts what
   * `proposed` (the far side's o=) does not override; later calls increment the version when
   * `body` differs from the previous one and repeat it otherwise.
   */
  next(body: string, proposed: SdpOriginLine): SdpOriginLine {
    if (this.#version < 0n) {
      this.#username ??= safeToken(proposed.username, '-');
      this.#sessionId ??= /^\d{1,20}$/.test(proposed.sessionId) ? proposed.sessionId : '0';
      this.#version = /^\d{1,20}$/.test(proposed.sessionVersion) ? BigInt(proposed.sessionVersion) : 0n;
    } else if (body !== this.#lastBody) {
      this.#version += 1n;
    }
    this.#lastBody = body;
    return {
      username: this.#username ?? '-',
      sessionId: this.#sessionId ?? '0',
      sessionVersion: this.#version.toString(),
    };
  }
}

function safeToken(value: string, fallback: string): string {
  return /^\S+$/.test(value) ? value : fallback;
}
