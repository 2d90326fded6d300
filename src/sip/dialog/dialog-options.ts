import type { TransportProtocol } from '../transport/transport.js';

/** The local sent-by for the Via of requests the dialog builds; each gets a new branch. */
export interface ViaSentBy {
  /** `UDP`, `TCP`, `TLS`. */
  readonly transport: string;
  readonly host: string;
  readonly port?: number;
  /** Adds `;rport` (RFC 3581). @default false */
  readonly rport?: boolean;
}

export interface DialogOptions {
  /** Via sent-by for `createRequest`/`createAck` (a per-call `via` overrides it). */
  readonly via?: ViaSentBy;
  /** Contact value put into target-refresh requests the dialog builds, e.g. `<sip:callrec@192.0.2.1>`. */
  readonly localContact?: string;
  /** Transport the dialog-creating request used; with a SIPS Request-URI over TLS the dialog is secure. */
  readonly protocol?: TransportProtocol;
  /**
   * First local CSeq of a UAS dialog (RFC 3261 §12.2.1.1 / §8.1.1.5: chosen when first needed,
   * below 2**31). @default random in [1, 2**30)
   */
  readonly initialLocalSeq?: number;
}

/** Options of a request built inside a dialog. */
export interface InDialogRequestOptions {
  /** Extra header fields, appended after the dialog's own. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: Buffer;
  /** A complete Via value (with branch) instead of one built from the dialog's `via` option. */
  readonly via?: string;
}
