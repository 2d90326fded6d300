import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatNameAddr,
  formatUri,
  parseNameAddr,
  parseUri,
  type NameAddr,
  type Uri,
} from '../../../../src/sip/message/index.js';
import { isLooseRouter, requestTarget, uacRouteSet, uasRouteSet } from '../../../../src/sip/dialog/index.js';
import { makeRequest, makeResponse } from '../transaction/support.js';

const route = (text: string): NameAddr => parseNameAddr(text)!;
const uri = (text: string): Uri => parseUri(text)!;

describe('route sets (RFC 3261 §12.1.1, §12.1.2)', () => {
  it('keeps Record-Route order for the UAS and reverses it for the UAC, parameters preserved', () => {
    const invite = makeRequest({ recordRoute: ['<sip:p2.example.com;lr;x=1>;h=2', '<sip:p1.example.com;lr>'] });
    assert.deepEqual(uasRouteSet(invite).map(formatNameAddr), [
      '<sip:p2.example.com;lr;x=1>;h=2',
      '<sip:p1.example.com;lr>',
    ]);
    const ok = makeResponse(invite, 200, {
      headers: [
        ['Record-Route', '<sip:p2.example.com;lr;x=1>;h=2'],
        ['Record-Route', '<sip:p1.example.com;lr>'],
      ],
    });
    assert.deepEqual(uacRouteSet(ok).map(formatNameAddr), [
      '<sip:p1.example.com;lr>',
      '<sip:p2.example.com;lr;x=1>;h=2',
    ]);
  });

  it('recognises loose routers by the lr URI parameter only', () => {
    assert.equal(isLooseRouter(route('<sip:p.example.com;lr>')), true);
    assert.equal(isLooseRouter(route('<sip:p.example.com>;lr')), false, 'a header parameter is not a URI parameter');
    assert.equal(isLooseRouter(route('<sip:p.example.com;transport=tcp>')), false);
  });
});

describe('requestTarget (RFC 3261 §12.2.1.1)', () => {
  const remote = uri('sip:bob@192.0.2.20:5062');

  it('targets the remote target directly with an empty route set', () => {
    const target = requestTarget(remote, []);
    assert.equal(formatUri(target.requestUri), 'sip:bob@192.0.2.20:5062');
    assert.deepEqual(target.route, []);
  });

  it('keeps the route set as Route for a loose first hop, even when later hops are strict', () => {
    const target = requestTarget(remote, [route('<sip:p1.example.com;lr>'), route('<sip:p2.example.com>')]);
    assert.equal(formatUri(target.requestUri), 'sip:bob@192.0.2.20:5062');
    assert.deepEqual(target.route.map(formatNameAddr), ['<sip:p1.example.com;lr>', '<sip:p2.example.com>']);
  });

  it('moves a strict first hop into the Request-URI without method or headers and appends the remote target', () => {
    const target = requestTarget(remote, [
      route('<sip:p1.example.com;method=BYE;transport=tcp?Subject=x>'),
      route('<sip:p2.example.com;lr>'),
    ]);
    assert.equal(formatUri(target.requestUri), 'sip:p1.example.com;transport=tcp');
    assert.deepEqual(target.route.map(formatNameAddr), ['<sip:p2.example.com;lr>', '<sip:bob@192.0.2.20:5062>']);
  });

  it('sends a single strict route with the remote target as the only Route', () => {
    const target = requestTarget(remote, [route('<sip:p1.example.com>')]);
    assert.equal(formatUri(target.requestUri), 'sip:p1.example.com');
    assert.deepEqual(target.route.map(formatNameAddr), ['<sip:bob@192.0.2.20:5062>']);
  });
});
