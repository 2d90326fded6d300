/**
 * A reason to skip a test on a developer machine that lacks root or a tool. Under CI
 * (`CI=true`) nothing may be skipped — a skipped test proves nothing — so the reason becomes an
 * error that fails the run and names what is missing.
 */
export function skipOutsideCi(reason: string | undefined): string | undefined {
  if (reason !== undefined && process.env['CI'] === 'true') throw new Error(`required in CI, cannot skip: ${reason}`);
  return reason;
}
