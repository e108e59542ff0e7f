import {createRequire} from 'node:module'
import {format} from 'node:util'

import {redact} from '../errors.js'

let installed = false

/**
 * Under DEBUG=…, ibm-cloud-sdk-core logs requests and responses (bearer tokens, HMAC ids) through the `debug`
 * package: route that package's output through redact(), so that DEBUG never prints a secret. Only `debug` is loaded
 * here, and only when DEBUG is set.
 */
export function installDebugRedaction(env: NodeJS.ProcessEnv = process.env): boolean {
  if (installed) return true
  if (!env.DEBUG) return false
  try {
    const here = createRequire(import.meta.url)
    let debugFrom = here
    try {
      debugFrom = createRequire(here.resolve('ibm-cloud-sdk-core'))
    } catch {
      // the SDK is not installed next to flowlog: the `debug` flowlog resolves is the one it would use
    }
    const debug = debugFrom('debug') as {log: (...args: unknown[]) => void}
    debug.log = (...args: unknown[]) => {
      process.stderr.write(`${redact(format(...args))}\n`)
    }
    installed = true
  } catch {
    // no `debug` package: nothing logs through it
  }
  return installed
}
