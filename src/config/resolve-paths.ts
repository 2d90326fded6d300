import { resolve } from 'node:path';
import type { CallrecConfig, Secret, TargetConfig } from './types.js';

/** The config with every relative file path (and `{ file }` secret) resolved against `baseDir`. */
export function resolvePaths(config: CallrecConfig, baseDir: string): CallrecConfig {
  const abs = (p: string): string => resolve(baseDir, p);
  const optional = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));
  const secret = <S extends Secret | undefined>(s: S): S =>
    (typeof s === 'object' && 'file' in s ? { file: abs(s.file) } : s) as S;
  const target = (t: TargetConfig): TargetConfig => {
    switch (t.type) {
      case 'smb':
        return { ...t, password: secret(t.password) };
      case 'sftp':
        return withDefined(
          { ...t },
          { password: secret(t.password), privateKey: secret(t.privateKey), passphrase: secret(t.passphrase) },
        );
      case 'onedrive':
        return withDefined({ ...t }, { clientSecret: secret(t.clientSecret) });
      case 'local':
        return { ...t, path: abs(t.path) };
    }
  };
  return {
    ...config,
    installation: {
      ...config.installation,
      dataDir: abs(config.installation.dataDir),
      keystorePassword: secret(config.installation.keystorePassword),
    },
    sip: {
      ...config.sip,
      listen: config.sip.listen.map((l) =>
        withDefined(
          { ...l },
          {
            certificate: optional(l.certificate),
            privateKey: optional(l.privateKey),
            passphrase: secret(l.passphrase),
          },
        ),
      ),
      tls: withDefined({ ...config.sip.tls }, { ca: optional(config.sip.tls.ca) }),
    },
    profiles: config.profiles.map((p) => ({
      ...p,
      announcement: withDefined(
        { ...p.announcement },
        { inbound: optional(p.announcement.inbound), outbound: optional(p.announcement.outbound) },
      ),
    })),
    targets: config.targets.map(target),
    admin: { ...config.admin, http: withDefined({ ...config.admin.http }, { token: secret(config.admin.http.token) }) },
    ...(config.email === undefined
      ? {}
      : {
          email: {
            ...config.email,
            smtp: withDefined({ ...config.email.smtp }, { password: secret(config.email.smtp.password) }),
          },
        }),
  };
}

/** `base` with the defined values of `updates` (absent keys stay absent, not `undefined`). */
function withDefined<T extends object>(base: T, updates: Partial<T>): T {
  const out = { ...base };
  for (const [key, value] of Object.entries(updates) as Array<[keyof T, T[keyof T] | undefined]>) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Freezes `value` and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
