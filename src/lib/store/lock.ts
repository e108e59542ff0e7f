import {open, readFile, rm} from 'node:fs/promises'

import {FlowlogError} from '../errors.js'
import {sleep} from '../sleep.js'

/** An exclusive writer lock on the index: a file holding the owner's pid, taken over when that process is gone. */
export class IndexBusyError extends FlowlogError {
  constructor(pid: number) {
    super(`the index is busy: another flowlog command (pid ${pid}) is writing it`, 1, {
      code: 'index_busy',
      suggestions: ['Wait for it to finish, or stop it, then run this command again'],
    })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface Lock {
  release(): Promise<void>
}

export async function acquireLock(path: string, options: {waitMs?: number; onWait?: (pid: number) => void} = {}): Promise<Lock> {
  const deadline = Date.now() + (options.waitMs ?? 30_000)
  let told = false
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644)
      await handle.writeFile(String(process.pid))
      await handle.close()
      return {
        async release() {
          try {
            const owner = Number((await readFile(path, 'utf8')).trim())
            if (owner === process.pid) await rm(path, {force: true})
          } catch {
            // already gone
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let pid = Number.NaN
    try {
      pid = Number((await readFile(path, 'utf8')).trim())
    } catch {
      continue // released between our attempts
    }
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || pid === process.pid) {
      await rm(path, {force: true})
      continue
    }
    if (Date.now() > deadline) throw new IndexBusyError(pid)
    if (!told) {
      options.onWait?.(pid)
      told = true
    }
    await sleep(200)
  }
}
