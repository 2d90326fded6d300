import { access } from 'node:fs/promises';
import { blockListOf, isLoopback, overlaps } from './network-checks.js';
import { listSecrets } from './secrets.js';
import type { CallrecConfig, ProfileConfig } from './types.js';

// Warnings: suspicious but valid settings of a config that passed validation.

/** Every warning of a valid config, each `"<path>: <message>"`. */
export function configWarnings(config: CallrecConfig): string[] {
  const warnings: string[] = [];
  const warn = (path: string, message: string): void => {
    warnings.push(`${path}: ${message}`);
  };

  const trunkList = blockListOf(config.trunk.addresses);
  config.pbx.addresses.forEach((entry, i) => {
    const pbxEntry = blockListOf([entry]);
    if (overlaps(entry, trunkList) || config.trunk.addresses.some((t) => overlaps(t, pbxEntry))) {
      warn(`/pbx/addresses/${i}`, 'overlaps the trunk addresses; sources in both are treated as trunk');
    }
  });

  for (const [i, listener] of config.sip.listen.entries()) {
    if (listener.transport !== 'tls' && (listener.certificate !== undefined || listener.privateKey !== undefined)) {
      warn(`/sip/listen/${i}`, `certificate and privateKey are ignored for ${listener.transport}`);
    }
  }

  const used = new Set(config.profiles.flatMap((p) => p.targets));
  config.targets.forEach((target, i) => {
    if (!used.has(target.id)) warn(`/targets/${i}`, `target '${target.id}' is not used by any profile`);
  });

  config.profiles.forEach((profile, i) => profileWarnings(profile, `/profiles/${i}`, config, warn));
  sameMatchSetWarnings(config, warn);

  const numbers = new Map<string, string>();
  const claim = (number: string, path: string): void => {
    const first = numbers.get(number);
    if (first === undefined) numbers.set(number, path);
    else warn(path, `number ${number} is also assigned at ${first}`);
  };
  config.users.forEach((u, i) => u.numbers.forEach((n, j) => claim(n, `/users/${i}/numbers/${j}`)));
  config.groups.forEach((g, i) =>
    g.numbers.forEach((n, j) => {
      const path = `/groups/${i}/numbers/${j}`;
      // A group number that is also a user's number gets its own, more precise warning.
      const user = userOwningNumber(n, config);
      if (user === undefined) claim(n, path);
      else warn(path, `number ${n} of group "${g.id}" is also ${user}`);
    }),
  );

  const extensions = new Map<string, number>();
  config.users.forEach((user, i) => {
    if (user.extension === undefined) return;
    const first = extensions.get(user.extension);
    if (first === undefined) extensions.set(user.extension, i);
    else warn(`/users/${i}/extension`, `extension ${user.extension} is also used by /users/${first}`);
  });

  for (const { path, secret } of listSecrets(config)) {
    if (typeof secret === 'string') {
      warn(path, 'secret is stored in clear in the config; prefer { "env": NAME } or { "file": path }');
    }
  }

  const adminHost = config.admin.http.host;
  if (!isLoopback(adminHost)) {
    warn('/admin/http/host', `the admin endpoint listens on ${adminHost}, not only on localhost`);
  }
  archiveWarnings(config, warn);
  return warnings;
}

function profileWarnings(
  profile: ProfileConfig,
  path: string,
  config: CallrecConfig,
  warn: (path: string, message: string) => void,
): void {
  if (!profile.enabled) return;
  if (profile.groups.length === 0 && profile.users.length === 0)
    warn(path, 'enabled profile names no groups or users and records nothing');
  if (!profile.inbound && !profile.outbound) warn(path, 'enabled profile records neither inbound nor outbound calls');
  if (profile.inbound && profile.announcement.inbound === undefined) {
    warn(`${path}/announcement/inbound`, 'inbound calls are recorded without an announcement');
  }
  if (profile.outbound && profile.announcement.outbound === undefined) {
    warn(`${path}/announcement/outbound`, 'outbound calls are recorded without an announcement');
  }
  if (profile.retentionDays === undefined)
    warn(`${path}/retentionDays`, 'not set: recordings are kept until deleted manually');
  if (profile.targets.length === 0) warn(`${path}/targets`, 'no targets: recordings stay in the local spool only');
  if (profile.notify !== undefined && config.email === undefined)
    warn(`${path}/notify`, 'no email section is configured, so no notification can be sent');
}

/** Enabled profiles after the first with the same groups, users and switches never record. */
function sameMatchSetWarnings(config: CallrecConfig, warn: (path: string, message: string) => void): void {
  const seen = new Map<string, ProfileConfig>();
  config.profiles.forEach((profile, i) => {
    const recordsNothing =
      (profile.groups.length === 0 && profile.users.length === 0) || (!profile.inbound && !profile.outbound);
    if (!profile.enabled || recordsNothing) return;
    const key = JSON.stringify([
      [...new Set(profile.groups)].sort(),
      [...new Set(profile.users)].sort(),
      profile.inbound,
      profile.outbound,
      // Only changes what is recorded for inbound calls to members of recorded groups.
      profile.inbound && profile.groups.length > 0 && profile.recordDirectCallsToActiveMembers,
    ]);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, profile);
    else
      warn(
        `/profiles/${i}`,
        `profiles "${first.id}" and "${profile.id}" match the same calls; only the first will ever record`,
      );
  });
}

/**
 * Which user also has `number` — as a direct number, or as the DID `companyNumber` + extension —
 * described for a warning; undefined when no user has it.
 */
function userOwningNumber(number: string, config: CallrecConfig): string | undefined {
  for (const [i, user] of config.users.entries()) {
    const j = user.numbers.indexOf(number);
    if (j >= 0) return `a number of user "${user.id}" (/users/${i}/numbers/${j})`;
  }
  const { companyNumber, extensionLength } = config.numbering;
  if (companyNumber === undefined || !number.startsWith(companyNumber)) return undefined;
  const suffix = number.slice(companyNumber.length);
  if (extensionLength !== undefined && suffix.length !== extensionLength) return undefined;
  const user = config.users.find((u) => u.extension === suffix);
  return user === undefined ? undefined : `the direct dial of user "${user.id}" (companyNumber + extension ${suffix})`;
}

/** Targets and uploads: unpinned SFTP host keys, a webhook in clear over the network. */
function archiveWarnings(config: CallrecConfig, warn: (path: string, message: string) => void): void {
  config.targets.forEach((target, i) => {
    if (target.type === 'sftp' && target.hostKey === undefined) {
      warn(
        `/targets/${i}/hostKey`,
        'not set: the SSH server key is not pinned (set it to the SHA256: fingerprint `ssh-keygen -lf` prints)',
      );
    }
  });
  const webhook = config.uploads.webhook;
  if (webhook !== undefined) {
    const url = new URL(webhook);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (url.protocol === 'http:' && !isLoopback(host)) {
      warn('/uploads/webhook', 'plain http to another host: archived events travel unencrypted');
    }
  }
}

/** Warnings for referenced files that do not exist on this machine. */
export async function missingFileWarnings(config: CallrecConfig): Promise<string[]> {
  const files: Array<[string, string | undefined]> = [
    ['/sip/tls/ca', config.sip.tls.ca],
    ...config.sip.listen.flatMap((l, i): Array<[string, string | undefined]> => [
      [`/sip/listen/${i}/certificate`, l.certificate],
      [`/sip/listen/${i}/privateKey`, l.privateKey],
    ]),
    ...config.profiles.flatMap((p, i): Array<[string, string | undefined]> => [
      [`/profiles/${i}/announcement/inbound`, p.announcement.inbound],
      [`/profiles/${i}/announcement/outbound`, p.announcement.outbound],
    ]),
  ];
  const warnings: string[] = [];
  for (const [path, file] of files) {
    if (file === undefined) continue;
    try {
      await access(file);
    } catch {
      warnings.push(`${path}: file not found: ${file}`);
    }
  }
  return warnings;
}
