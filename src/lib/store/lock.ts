import {rmSync} from 'node:fs'
import {mkdir, open, readdir, readFile, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {FlowlogError} from '../errors.js'
import {sleep} from '../sleep.js'

/**
 * Who holds the index (src/lib/store/README.md): the writer's lock file `index.lock`, and one file per reader in
 * `index.readers/`, each holding `{"pid":…,"command":"flowlog search","mode":"read"|"write","since":…}`. A blocked
 * command can then say which command holds the index and whether it reads or writes it. A file whose process is gone
 * is stale and removed; a lock file of earlier versions holds only the pid.
 */
export interface LockHolder {
  pid: number
  /** `flowlog pull`, `flowlog search`, … (undefined in a lock file of an earlier version). */
  command?: string
  mode: 'read' | 'write'
  since?: string
}

/** How a holder reads in a message: "`flowlog search` (pid 123) is reading it". */
export function describeHolder(h: LockHolder): string {
  return `${h.command ? `\`${h.command}\`` : 'another flowlog command'} (pid ${h.pid}) is ${h.mode === 'read' ? 'reading' : 'writing'} it`
}

/** The index is held by another process past the wait. */
export class IndexBusyError extends FlowlogError {
  readonly holder?: LockHolder
  constructor(holder: LockHolder | number | undefined) {
    const h = typeof holder === 'number' ? {pid: holder, mode: 'write' as const} : holder
    super(`the index is busy: ${h ? describeHolder(h) : 'another process holds the index file'}`, 1, {
      code: 'index_busy',
      suggestions: [h?.mode === 'read' ? 'Wait for it to finish (a long search can be stopped with Ctrl-C), then run this command again' : 'Wait for it to finish, or stop it, then run this command again'],
      detail: h ? {holder: h} : undefined,
    })
    this.holder = h
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

/** `flowlog <command>` of this process, from its arguments: `flowlog pull`, `flowlog alert create`. */
export function currentCommand(argv: string[] = process.argv): string {
  const word = (w: string | undefined) => w !== undefined && /^[a-z][a-z-]*$/.test(w)
  const [first, second] = argv.slice(2)
  if (!word(first)) return 'flowlog'
  // Topics (alert, vpc) take a subcommand.
  return ['alert', 'vpc'].includes(first) && word(second) ? `flowlog ${first} ${second}` : `flowlog ${first}`
}

function holderText(mode: LockHolder['mode'], command: string): string {
  return JSON.stringify({pid: process.pid, command, mode, since: new Date().toISOString()})
}

/** A lock or reader file's holder; undefined for garbage. Accepts the bare pid of earlier versions. */
export function parseHolder(text: string, mode: LockHolder['mode']): LockHolder | undefined {
  const t = text.trim()
  if (/^\d+$/.test(t)) return Number(t) > 0 ? {pid: Number(t), mode} : undefined
  try {
    const j = JSON.parse(t) as Partial<LockHolder>
    if (!Number.isInteger(j.pid) || (j.pid as number) <= 0) return undefined
    return {pid: j.pid as number, command: typeof j.command === 'string' ? j.command : undefined, mode: j.mode === 'read' ? 'read' : mode, since: typeof j.since === 'string' ? j.since : undefined}
  } catch {
    return undefined
  }
}

export interface Lock {
  release(): Promise<void>
}

export interface AcquireOptions {
  waitMs?: number
  /** Called once when we must wait, with who holds the lock. */
  onWait?: (holder: LockHolder) => void
  /** What this process is (default: from its arguments). */
  command?: string
}

export async function acquireLock(path: string, options: AcquireOptions = {}): Promise<Lock> {
  const deadline = Date.now() + (options.waitMs ?? 30_000)
  const command = options.command ?? currentCommand()
  let told = false
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644)
      await handle.writeFile(holderText('write', command))
      await handle.close()
      return {
        async release() {
          try {
            const owner = parseHolder(await readFile(path, 'utf8'), 'write')
            if (owner?.pid === process.pid) await rm(path, {force: true})
          } catch {
            // already gone
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let holder: LockHolder | undefined
    try {
      holder = parseHolder(await readFile(path, 'utf8'), 'write')
    } catch {
      continue // released between our attempts
    }
    if (!holder || !alive(holder.pid) || holder.pid === process.pid) {
      await rm(path, {force: true})
      continue
    }
    if (Date.now() > deadline) throw new IndexBusyError(holder)
    if (!told) {
      options.onWait?.(holder)
      told = true
    }
    await sleep(200)
  }
}

/** The folder of reader files next to a lock file: `index.readers/`. */
export function readersDir(lockPath: string): string {
  return join(dirname(lockPath), `${basename(lockPath, '.lock')}.readers`)
}

/** Say that this process reads the index (removed by the returned release; a stale one by the next look). */
export async function registerReader(lockPath: string, command = currentCommand()): Promise<Lock> {
  const dir = readersDir(lockPath)
  const file = join(dir, `${process.pid}.json`)
  try {
    await mkdir(dir, {recursive: true})
    const h = await open(file, 'w', 0o644)
    await h.writeFile(holderText('read', command))
    await h.close()
  } catch {
    // Only a courtesy to writers: a reader that cannot say so still reads.
  }
  // An exit without close() (Ctrl-C during a query) takes the file with it.
  const onExit = () => rmSync(file, {force: true})
  process.once('exit', onExit)
  return {
    release: async () => {
      process.off('exit', onExit)
      await rm(file, {force: true}).catch(() => undefined)
    },
  }
}

/** Every live holder of the index: the writer (if any) first, then the readers. Stale files are removed. */
export async function indexHolders(lockPath: string): Promise<LockHolder[]> {
  const out: LockHolder[] = []
  const writer = parseHolder(await readFile(lockPath, 'utf8').catch(() => ''), 'write')
  if (writer && alive(writer.pid) && writer.pid !== process.pid) out.push(writer)
  const dir = readersDir(lockPath)
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = join(dir, name)
    const reader = parseHolder(await readFile(file, 'utf8').catch(() => ''), 'read')
    if (reader?.pid === process.pid) continue
    if (!reader || !alive(reader.pid)) {
      await rm(file, {force: true}).catch(() => undefined)
      continue
    }
    out.push(reader)
  }
  return out
}

/** What a blocked command says while it waits. */
export function waitingMessage(holder: LockHolder | undefined): string {
  return `waiting for the index: ${holder ? describeHolder(holder) : 'another flowlog command is using it'}…`
}
