/**
 * `flowlog teardown` from its flags (docs/setup.md): find the deployment, have it confirmed (the caller asks; without
 * a way to ask, --yes is required), then delete it in reverse order.
 */
import type {Home} from '../config/home.js'
import {UsageError} from '../errors.js'
import type {Deployment} from './state.js'
import {describeTeardown, runTeardown, type TeardownResult} from './teardown.js'

export interface TeardownFlowContext {
  home: Home
  /** Ask whether to delete this deployment; absent when there is no terminal to ask (or --json). */
  confirm?: (dep: Deployment) => Promise<boolean>
  /** Deleting starts. */
  onStart?: () => void
  onProgress?: (message: string) => void
}

export async function teardownFlow(flags: {region?: string; basename?: string; yes?: boolean}, ctx: TeardownFlowContext): Promise<TeardownResult> {
  const dep = await describeTeardown({home: ctx.home, region: flags.region, basename: flags.basename})
  if (dep && !flags.yes) {
    if (!ctx.confirm) {
      throw new UsageError('teardown deletes cloud resources and the flow-log bucket: pass --yes to confirm (there is no terminal to ask)', {
        suggestions: ['flowlog teardown --yes'],
      })
    }
    if (!(await ctx.confirm(dep))) throw new UsageError('teardown cancelled: nothing was deleted')
  }
  ctx.onStart?.()
  return runTeardown({home: ctx.home, region: flags.region, basename: flags.basename, onProgress: (e) => ctx.onProgress?.(e.message)})
}
