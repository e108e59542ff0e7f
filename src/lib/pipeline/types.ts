/** Shared result shapes of setup, teardown and doctor (what `--json` prints). */

export type SetupAction = 'created' | 'exists' | 'updated' | 'skipped' | 'planned'
export type TeardownAction = 'deleted' | 'skipped' | 'planned' | 'failed'

export interface StepResult<A extends string = SetupAction> {
  name: string
  action: A
  /** The resource id (or name, for resources identified by name); null when there is none. */
  id: string | null
  /** One line for people. */
  detail?: string
}

export interface ProgressEvent {
  step: string
  message: string
}

export type ProgressFn = (event: ProgressEvent) => void

export interface Timing {
  /** Sleep (tests pass a fast or fake one). */
  sleep?: (ms: number) => Promise<void>
  /** First poll interval (default FLOWLOG_POLL_INTERVAL_MS or 1000 ms); it grows ×1.5 up to 10 s. */
  pollIntervalMs?: number
  /** How long to wait for an instance to provision (default 15 min). */
  provisionTimeoutMs?: number
  /** How long to wait for a Code Engine project (default 10 min). */
  projectTimeoutMs?: number
  /** How long to retry the collector's `service_error`/403 while the authorization propagates (default 2 min). */
  authorizationPropagationMs?: number
  /** How long to wait for a new collector to become stable (default 5 min). */
  collectorTimeoutMs?: number
  /** How long to wait for the image build run (default 20 min). */
  buildTimeoutMs?: number
  now?: () => number
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolved timing with defaults (FLOWLOG_POLL_INTERVAL_MS overrides the first interval). */
export function resolveTiming(t: Timing = {}, env: NodeJS.ProcessEnv = process.env): Required<Timing> {
  const envInterval = Number(env.FLOWLOG_POLL_INTERVAL_MS)
  return {
    sleep: t.sleep ?? defaultSleep,
    pollIntervalMs: t.pollIntervalMs ?? (Number.isFinite(envInterval) && envInterval >= 0 && env.FLOWLOG_POLL_INTERVAL_MS !== '' && env.FLOWLOG_POLL_INTERVAL_MS !== undefined ? envInterval : 1000),
    provisionTimeoutMs: t.provisionTimeoutMs ?? 15 * 60_000,
    projectTimeoutMs: t.projectTimeoutMs ?? 10 * 60_000,
    authorizationPropagationMs: t.authorizationPropagationMs ?? 120_000,
    collectorTimeoutMs: t.collectorTimeoutMs ?? 5 * 60_000,
    buildTimeoutMs: t.buildTimeoutMs ?? 20 * 60_000,
    now: t.now ?? Date.now,
  }
}

/**
 * Call `probe` until it returns a value (not undefined), sleeping with a growing interval, or fail after `timeoutMs`
 * (measured in slept time, so a fake clock works).
 */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, timing: Required<Timing>, timeoutMs: number, onWait?: (waitedMs: number) => void): Promise<T | undefined> {
  let waited = 0
  let interval = timing.pollIntervalMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (waited >= timeoutMs) return undefined
    onWait?.(waited)
    const step = Math.min(interval, Math.max(0, timeoutMs - waited))
    await timing.sleep(step)
    waited += step
    interval = Math.min(10_000, Math.max(1, Math.round(interval * 1.5)))
  }
}
