import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dialog, DialogLayer } from '../../../../src/sip/dialog/index.js';
import { makeRequest, makeResponse } from '../transaction/support.js';

function uasDialog(callId = 'call-1@192.0.2.10') {
  const invite = makeRequest({ callId, contact: '<sip:alice@192.0.2.10>' });
  return Dialog.asUas(
    invite,
    makeResponse(invite, 200, { toTag: 'uas-tag', headers: [['Contact', '<sip:bob@192.0.2.20>']] }),
  );
}

describe('DialogLayer', () => {
  it('finds the dialog of an incoming request by Call-ID, To tag (local) and From tag (remote)', () => {
    const layer = new DialogLayer();
    const dialog = layer.add(uasDialog());
    assert.equal(layer.findForRequest(makeRequest({ method: 'BYE', toTag: 'uas-tag', fromTag: 'a1' })), dialog);
    assert.equal(layer.findForRequest(makeRequest({ method: 'BYE', toTag: 'uas-tag', fromTag: 'zz' })), undefined);
    assert.equal(layer.findForRequest(makeRequest({ method: 'BYE', toTag: 'other', fromTag: 'a1' })), undefined);
    assert.equal(layer.findForRequest(makeRequest({ method: 'BYE', toTag: 'uas-tag', callId: 'x@y' })), undefined);
    assert.equal(layer.findForRequest(makeRequest({ method: 'OPTIONS' })), undefined, 'no To tag: outside dialogs');
  });

  it('finds the dialog of a response by Call-ID, From tag (local) and To tag (remote)', () => {
    const layer = new DialogLayer();
    const invite = makeRequest({ fromTag: 'uac-tag' });
    const dialog = layer.add(Dialog.asUac(invite, makeResponse(invite, 200, { toTag: 'peer' })));
    assert.equal(layer.findForResponse(makeResponse(invite, 200, { toTag: 'peer' })), dialog);
    assert.equal(layer.findForResponse(makeResponse(invite, 200, { toTag: 'other' })), undefined);
    assert.equal(layer.get({ callId: invite.callId, localTag: 'uac-tag', remoteTag: 'peer' }), dialog);
  });

  it('forgets a dialog when it terminates', () => {
    const layer = new DialogLayer();
    const dialog = layer.add(uasDialog());
    dialog.terminate();
    dialog.terminate();
    assert.equal(layer.size, 0);
    assert.equal(layer.findForRequest(makeRequest({ method: 'BYE', toTag: 'uas-tag' })), undefined);
    assert.deepEqual(layer.dialogsOf(dialog.callId, 'uas-tag'), []);
  });

  it('refuses a duplicate dialog ID and a terminated dialog', () => {
    const layer = new DialogLayer();
    layer.add(uasDialog());
    assert.throws(() => layer.add(uasDialog()), { code: 'SIP_DIALOG_STATE' });
    const ended = uasDialog('other@h');
    ended.terminate();
    assert.throws(() => layer.add(ended), { code: 'SIP_DIALOG_STATE' });
  });

  it('creates no dialog for a 100 or a provisional without To tag, and ignores non-INVITE responses', () => {
    const layer = new DialogLayer();
    const invite = makeRequest();
    assert.equal(layer.receiveUacResponse(invite, makeResponse(invite, 100)), undefined);
    assert.equal(layer.receiveUacResponse(invite, makeResponse(invite, 180, { toTag: null })), undefined);
    const options = makeRequest({ method: 'OPTIONS' });
    assert.equal(layer.receiveUacResponse(options, makeResponse(options, 200)), undefined);
    assert.equal(layer.size, 0);
  });

  it('updates an existing early dialog on a later provisional from the same fork', () => {
    const layer = new DialogLayer();
    const invite = makeRequest();
    const early = layer.receiveUacResponse(
      invite,
      makeResponse(invite, 180, { toTag: 'f', headers: [['Contact', '<sip:a@192.0.2.1>']] }),
    );
    const again = layer.receiveUacResponse(
      invite,
      makeResponse(invite, 183, { toTag: 'f', headers: [['Contact', '<sip:a@192.0.2.2>']] }),
    );
    assert.equal(again, early);
    assert.equal(layer.size, 1);
    assert.equal(early?.remoteTarget.scheme, 'sip');
    assert.equal(early && 'host' in early.remoteTarget ? early.remoteTarget.host : '', '192.0.2.2');
  });

  it('creates a separate confirmed dialog for a 2xx from a second fork', () => {
    const layer = new DialogLayer();
    const invite = makeRequest();
    const a = layer.receiveUacResponse(invite, makeResponse(invite, 200, { toTag: 'fork-a' }));
    const b = layer.receiveUacResponse(invite, makeResponse(invite, 200, { toTag: 'fork-b' }));
    assert.ok(a && b && a !== b);
    assert.deepEqual(
      layer.dialogsOf(invite.callId, 'a1').map((d) => d.state),
      ['confirmed', 'confirmed'],
    );
    layer.receiveUacResponse(invite, makeResponse(invite, 486, { toTag: 'fork-c' }));
    assert.equal(layer.size, 2, 'a failure final ends only early dialogs');
  });

  it('terminates every dialog on close()', () => {
    const layer = new DialogLayer();
    const dialog = layer.add(uasDialog());
    layer.close();
    assert.equal(dialog.state, 'terminated');
    assert.equal(layer.size, 0);
  });
});
