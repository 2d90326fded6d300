/** The output of `bench/media.bench.ts`: per-step details, the table, the pass criteria. */
import { cpus } from 'node:os';
import type { StepResult } from './run-step.js';

export function ms(v: number): string {
  if (v === Infinity) return '> 2 s';
  return isNaN(v) ? '-' : `${v.toFixed(2)} ms`;
}

export function lossFree(r: StepResult): boolean {
  return (
    r.connected === r.n &&
    r.anchored === r.n &&
    r.sentAB === r.receivedAB &&
    r.sentBA === r.receivedBA &&
    r.misrouted === 0 &&
    r.sentAB > 0
  );
}

export function recordingsComplete(r: StepResult, relayOnly: boolean): boolean {
  if (relayOnly) return true;
  return r.recordings.complete === r.n && r.recordings.folders === r.n;
}

export function addedP99(r: StepResult): number {
  return r.latency.p99 - r.baseline.latency.p99;
}

export function rssPerCall(r: StepResult): number {
  return (r.rssLoadedKiB - r.rssIdleKiB) / Math.max(1, r.connected);
}

/** The details of one step (the relay, latency, CPU, RSS, hang-up, recordings). */
export function printStep(r: StepResult, relayOnly: boolean): void {
  const lossAB = r.sentAB - r.receivedAB;
  const lossBA = r.sentBA - r.receivedBA;
  console.log(
    `  relay: caller->callee ${r.receivedAB}/${r.sentAB} (lost ${lossAB}), callee->caller ${r.receivedBA}/${r.sentBA} (lost ${lossBA}); calls with loss ${r.callsWithLoss}; cross-talk ${r.misrouted}; reordered ${r.reordered}; receive-buffer drops: callrec sockets ${r.udpDrops.callrec}, generator sockets ${r.udpDrops.generator}`,
  );
  console.log(
    `  one-way through callrec, all calls up: p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, max ${ms(r.latency.max)} (${r.latency.count} packets); added p50 ${ms(r.latency.p50 - r.baseline.latency.p50)}, p99 ${ms(addedP99(r))}`,
  );
  console.log(
    `  one-way through callrec during the set-up burst: p50 ${ms(r.setupLatency.p50)}, p99 ${ms(r.setupLatency.p99)}, max ${ms(r.setupLatency.max)} (${r.setupLatency.count} packets); added p99 ${ms(r.setupLatency.p99 - r.baseline.latency.p99)}`,
  );
  console.log(
    `  generator lateness p99 ${ms(r.lateness.p99)}, max ${ms(r.lateness.max)}; CPU (% of one core): callrec ${r.callrecCpu.toFixed(0)} % (idle ${r.callrecIdleCpu.toFixed(0)} %), generator ${r.generatorCpu.toFixed(0)} %, SIP side ${r.sipCpu.toFixed(0)} %, other processes ${r.othersCpu.toFixed(0)} %; machine ${r.machineBusy.toFixed(0)} % busy of ${cpus().length} cores`,
  );
  console.log(
    `  callrec RSS: idle ${(r.rssIdleKiB / 1024).toFixed(1)} MiB, with ${r.connected} calls ${(r.rssLoadedKiB / 1024).toFixed(1)} MiB (peak ${(r.rssPeakKiB / 1024).toFixed(1)}) -> ${rssPerCall(r).toFixed(0)} KiB per call`,
  );
  console.log(
    `  hang-up: ${r.byeFailures} BYE failures, ${r.uasByes} BYEs reached the callee; SIP retransmissions ${r.sipRetransmissions}; calls left in callrec ${r.callsLeft ?? '?'}; callrec exit ${r.callrecExit}`,
  );
  const rec = r.recordings;
  if (relayOnly) return;
  console.log(
    `  recordings: ${rec.complete}/${r.n} complete (${rec.folders} sealed folders with ${rec.wavFiles} WAVs after ${r.finaliseSeconds.toFixed(1)} s; ${rec.matched} matched by Call-ID; recorder packets lost ${rec.packetsLost}, recorded ${rec.packetsRecorded} of ${r.sentAB + r.sentBA} sent; metadata incomplete ${rec.metadataIncomplete}; max WAV deviation ${isFinite(rec.wavDeviationMaxS) ? rec.wavDeviationMaxS.toFixed(2) : 'n/a'} s)`,
  );
  for (const [kind, count] of Object.entries(rec.problemKinds))
    console.log(`    metadata: "${kind}" in ${count} recordings`);
  for (const p of rec.problems.slice(0, 4)) console.log(`    e.g. ${p.slice(0, 200)}`);
  if (r.callrecProblems.length > 0) {
    console.log(`  callrec logged ${r.callrecProblems.length} warnings/errors, e.g.:`);
    for (const p of [...new Set(r.callrecProblems)].slice(0, 5)) console.log(`    ${p.slice(0, 200)}`);
  }
}

/** One row per step. */
export function printTable(results: readonly StepResult[], relayOnly: boolean): void {
  const rows = [
    [
      'calls',
      'up',
      'lost a>b',
      'lost b>a',
      'p50 add',
      'p99 add',
      'max',
      'gen late p99',
      'callrec CPU',
      'gen CPU',
      'others CPU',
      'RSS/call',
      'recordings',
      'ok',
    ],
    ...results.map((r) => [
      String(r.n),
      String(r.connected),
      `${r.sentAB - r.receivedAB}/${r.sentAB}`,
      `${r.sentBA - r.receivedBA}/${r.sentBA}`,
      ms(r.latency.p50 - r.baseline.latency.p50),
      ms(addedP99(r)),
      ms(r.latency.max),
      ms(r.lateness.p99),
      `${r.callrecCpu.toFixed(0)} %`,
      `${r.generatorCpu.toFixed(0)} %`,
      `${r.othersCpu.toFixed(0)} %`,
      `${rssPerCall(r).toFixed(0)} KiB`,
      relayOnly ? '-' : `${r.recordings.complete}/${r.n}`,
      lossFree(r) && recordingsComplete(r, relayOnly) ? 'yes' : 'no',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] as string).length)));
  console.log('');
  for (const row of rows) console.log(row.map((cell, c) => cell.padStart(widths[c] as number)).join('  '));
}
