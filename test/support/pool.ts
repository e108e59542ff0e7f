/**
 * One pool of parse workers for the in-process pulls of a test process. Under tsx each new worker thread registers
 * tsx and loads the parser again (about half a second of CPU); the in-process pulls share this pool instead of
 * starting and stopping their own, as `pullObjects` allows (`pool`: workers started by the caller). Pulls about the
 * workers themselves (how many, in which order they finish) still pass `workers` and get their own.
 */
import {ParsePool} from '../../src/lib/store/pool.js'

let shared: ParsePool | undefined

/** The process's shared pool of one parse worker (unref'd: it never keeps the process alive). */
export function sharedParsePool(): ParsePool {
  shared ??= new ParsePool(1)
  return shared
}
