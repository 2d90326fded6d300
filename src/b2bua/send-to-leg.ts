import type { SipRequest, SipResponse } from '../sip/index.js';
import type { CallContext } from './call-context.js';

/** Sends a message outside a transaction (ACK) to where its Request-URI / Route points. */
export function sendToLeg(context: CallContext, callId: string, message: SipRequest): void {
  void context
    .resolve(message.route[0]?.uri ?? message.uri)
    .then((destination) => context.sendStateless(message, destination))
    .catch((error: unknown) => context.logger.warn({ call: callId, err: String(error) }, 'ACK not sent'));
}

/**
 * Sends a request (BYE, PRACK) in a client transaction to where its Request-URI / Route points;
 * `onFinal` sees every response, timeouts and transport errors are ignored.
 */
export function sendRequestToLeg(
  context: CallContext,
  callId: string,
  request: SipRequest,
  onFinal: (response: SipResponse) => void,
): void {
  void context.resolve(request.route[0]?.uri ?? request.uri).then(
    (destination) => {
      context.sendRequest(request, destination, {
        onResponse: (response) => onFinal(response),
        onTimeout: () => undefined,
        onTransportError: () => undefined,
      });
    },
    (error: unknown) => context.logger.warn({ call: callId, err: String(error) }, `${request.method} not sent`),
  );
}
