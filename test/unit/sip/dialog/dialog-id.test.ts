import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dialogIdOfRequest, dialogIdOfResponse, dialogKey, sameDialogId } from '../../../../src/sip/dialog/index.js';
import { makeRequest, makeResponse } from '../transaction/support.js';

describe('dialog IDs (RFC 3261 §12)', () => {
  it('reads an incoming request as local tag = To tag, remote tag = From tag', () => {
    const request = makeRequest({ method: 'BYE', toTag: 'mine', fromTag: 'theirs', callId: 'c@h' });
    assert.deepEqual(dialogIdOfRequest(request), { callId: 'c@h', localTag: 'mine', remoteTag: 'theirs' });
  });

  it('has no dialog ID for a request without To tag', () => {
    assert.equal(dialogIdOfRequest(makeRequest()), undefined);
  });

  it('reads a response as local tag = From tag, remote tag = To tag', () => {
    const invite = makeRequest({ fromTag: 'mine', callId: 'c@h' });
    assert.deepEqual(dialogIdOfResponse(makeResponse(invite, 180, { toTag: 'theirs' })), {
      callId: 'c@h',
      localTag: 'mine',
      remoteTag: 'theirs',
    });
  });

  it('treats a missing remote tag as empty (RFC 2543 peers)', () => {
    const bye = makeRequest({ method: 'BYE', toTag: 'mine' });
    const legacy = { ...bye, from: { ...bye.from, params: new Map<string, string | null>() } };
    assert.equal(dialogIdOfRequest(legacy)?.remoteTag, '');
    assert.equal(dialogIdOfResponse(makeResponse(makeRequest(), 200, { toTag: null }))?.remoteTag, '');
  });

  it('keys and compares all three parts, case-sensitively', () => {
    const a = { callId: 'c', localTag: 'x', remoteTag: 'y' };
    assert.equal(sameDialogId(a, { ...a }), true);
    assert.equal(sameDialogId(a, { ...a, remoteTag: 'Y' }), false);
    assert.notEqual(dialogKey(a), dialogKey({ callId: 'cx', localTag: '', remoteTag: 'y' }));
    assert.equal(dialogKey(a), dialogKey({ ...a }));
  });
});
