import { isRecord, records, strings, type ConfigError } from './config-error.js';
import { isLoopback, networkProblem, sipUriProblem } from './network-checks.js';

/**
 * Checks the schema cannot express: addresses and URIs, unique ids and references between
 * sections, ranges whose ends depend on each other. They run on the raw data even when the
 * schema failed, so one `config check` shows every problem; each check skips values of the
 * wrong shape.
 */
export function semanticErrors(data: unknown): ConfigError[] {
  if (!isRecord(data)) return [];
  const errors: ConfigError[] = [];
  const error = (path: string, message: string): void => {
    errors.push({ path, message });
  };

  for (const side of ['trunk', 'pbx'] as const) {
    const peer = data[side];
    if (!isRecord(peer)) continue;
    for (const [i, entry] of strings(peer.addresses)) {
      const problem = networkProblem(entry);
      if (problem !== undefined) error(`/${side}/addresses/${i}`, problem);
    }
    if (typeof peer.uri === 'string') {
      const problem = sipUriProblem(peer.uri);
      if (problem !== undefined) error(`/${side}/uri`, problem);
    }
  }

  const ids = new Map<string, Set<string>>();
  for (const list of ['users', 'groups', 'profiles', 'targets'] as const) {
    const seen = new Map<string, number>();
    for (const [i, item] of records(data[list])) {
      if (typeof item.id !== 'string') continue;
      const first = seen.get(item.id);
      if (first === undefined) seen.set(item.id, i);
      else error(`/${list}/${i}/id`, `duplicate id '${item.id}' (first used at /${list}/${first})`);
    }
    ids.set(list, new Set(seen.keys()));
  }
  const checkRefs = (path: string, value: unknown, list: 'users' | 'groups' | 'targets', noun: string): void => {
    const known = ids.get(list) ?? new Set<string>();
    for (const [j, ref] of strings(value)) {
      if (!known.has(ref)) error(`${path}/${j}`, `unknown ${noun} '${ref}' (not in /${list})`);
    }
  };
  for (const [i, group] of records(data.groups)) checkRefs(`/groups/${i}/members`, group.members, 'users', 'user');
  for (const [i, profile] of records(data.profiles)) {
    checkRefs(`/profiles/${i}/groups`, profile.groups, 'groups', 'group');
    checkRefs(`/profiles/${i}/users`, profile.users, 'users', 'user');
    checkRefs(`/profiles/${i}/targets`, profile.targets, 'targets', 'target');
    const consent = profile.consent;
    if (isRecord(consent) && typeof consent.routeTo === 'string' && /^sips?:/i.test(consent.routeTo)) {
      const problem = sipUriProblem(consent.routeTo);
      if (problem !== undefined) error(`/profiles/${i}/consent/routeTo`, problem);
    }
  }

  const media = data.media;
  if (isRecord(media) && Array.isArray(media.portRange)) {
    const [first, last] = media.portRange as unknown[];
    if (typeof first === 'number' && typeof last === 'number' && first > last) {
      error('/media/portRange', 'the first port must not be greater than the last');
    }
  }

  const sip = data.sip;
  if (isRecord(sip)) {
    const timers = sip.timers;
    if (
      isRecord(timers) &&
      typeof timers.t1Ms === 'number' &&
      typeof timers.t2Ms === 'number' &&
      timers.t2Ms < timers.t1Ms
    ) {
      error('/sip/timers/t2Ms', 'must not be less than t1Ms');
    }
    const sockets = new Map<string, number>();
    for (const [i, listener] of records(sip.listen)) {
      const { transport, host, port } = listener;
      if (typeof transport !== 'string' || typeof host !== 'string' || typeof port !== 'number') continue;
      const key = `${transport === 'udp' ? 'udp' : 'tcp'} ${host} ${port}`;
      const first = sockets.get(key);
      if (first === undefined) sockets.set(key, i);
      else
        error(
          `/sip/listen/${i}`,
          `binds the same ${transport === 'udp' ? 'UDP' : 'TCP'} address and port as /sip/listen/${first}`,
        );
    }
  }

  const codes = data.featureCodes;
  if (isRecord(codes) && typeof codes.groupLogin === 'string' && codes.groupLogin === codes.groupLogout) {
    error('/featureCodes/groupLogin', 'must differ from groupLogout');
  }

  const adminHttp = isRecord(data.admin) ? data.admin.http : undefined;
  if (isRecord(adminHttp) && typeof adminHttp.host === 'string' && !isLoopback(adminHttp.host)) {
    if (adminHttp.token === undefined)
      error('/admin/http/token', `required when the admin endpoint listens on ${adminHttp.host} (not loopback)`);
  }
  return errors;
}
