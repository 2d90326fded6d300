/** The callrec configuration of one `bench/media.bench.ts` step. */
import { CALLED_NUMBER, PBX_IP, TRUNK_IP } from './media-bench-options.js';

export interface CallrecBenchParams {
  readonly dataDir: string;
  readonly passwordFile: string;
  readonly sipPort: number;
  readonly pbxPort: number;
  readonly adminPort: number;
  /** Calls of the step (b2bua.maxCalls is at least twice that). */
  readonly calls: number;
  readonly mediaPorts: readonly [number, number];
  readonly channels: string;
  readonly relayOnly: boolean;
  /** pino level. @default warn */
  readonly logLevel?: string;
}

/**
 * `config/callrec.example.json` (`example`) for the bench: loopback trunk and PBX, strict-source
 * media on `mediaPorts`, every call to CALLED_NUMBER recorded (none with `relayOnly`), no mail.
 */
export function callrecBenchConfig(
  example: Record<string, unknown>,
  params: CallrecBenchParams,
): Record<string, unknown> {
  const { dataDir, passwordFile, sipPort, pbxPort, adminPort, calls: n, mediaPorts, channels, relayOnly } = params;
  const config = {
    ...example,
    installation: { dataDir, keystorePassword: { file: passwordFile } },
    log: { level: params.logLevel ?? 'warn', personalData: false },
    sip: { listen: [{ transport: 'udp', host: TRUNK_IP, port: sipPort }], advertise: TRUNK_IP },
    media: {
      host: TRUNK_IP,
      advertise: TRUNK_IP,
      portRange: mediaPorts,
      timeoutSeconds: 60,
      strictSource: true,
      recordableCodecsOnly: true,
    },
    trunk: { addresses: [TRUNK_IP], uri: `sip:${TRUNK_IP}:5999` },
    pbx: { addresses: [PBX_IP], uri: `sip:${PBX_IP}:${pbxPort}` },
    users: [{ id: 'u1', extension: '201', numbers: ['+4930123456201'] }],
    groups: [{ id: 'g', numbers: [CALLED_NUMBER], members: ['u1'] }],
    profiles: relayOnly
      ? []
      : [
          {
            id: 'all',
            enabled: true,
            groups: ['g'],
            users: [],
            inbound: true,
            outbound: true,
            recordDirectCallsToActiveMembers: false,
            channels,
            consent: { legalBasis: 'obligation' },
            signing: true,
            targets: [],
            retentionDays: 30,
            onRecordingFailure: 'continue',
          },
        ],
    targets: [],
    b2bua: {
      maxCalls: Math.max(2000, 2 * n),
      maxInvitesPerSecondPerSource: 10000,
      carryHeaders: ['X-Bench-Call'],
    },
    admin: { http: { host: TRUNK_IP, port: adminPort } },
  };
  delete (config as Record<string, unknown>)['$schema'];
  delete (config as Record<string, unknown>)['email'];
  return config;
}
