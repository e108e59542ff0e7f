import {readdirSync, realpathSync, statSync} from 'node:fs'
import {readFile, stat} from 'node:fs/promises'
import {join, relative, resolve, sep} from 'node:path'

import {ConfigError} from '../errors.js'
import {FLOWLOG_KEY_PREFIX, parseKey} from '../records/key.js'
import {hourInWindow, type TimeWindow} from '../records/time.js'
import type {Source, SourceObject, SourceProgress, SourceStats} from './types.js'

/**
 * A folder laid out like a bucket: the key of a file is its path relative to the folder, with `/` separators.
 * Only keys under ibm_vpc_flowlogs_ are flow-log objects; others are counted as foreign and skipped.
 */
export class FolderSource implements Source {
  readonly id: string
  readonly description: string
  readonly stats: SourceStats = {listRequests: 0, listed: 0, skippedForeign: 0, prunedByTime: 0, skipped: []}
  private readonly root: string

  constructor(dir: string) {
    this.root = resolve(dir)
    this.id = `dir:${this.root}`
    this.description = this.root
  }

  async *list(window: TimeWindow, progress?: SourceProgress): AsyncIterable<SourceObject> {
    let info
    try {
      info = await stat(this.root)
    } catch {
      throw new ConfigError(`source folder ${this.root} does not exist`, {suggestions: ['Check the --source path']})
    }
    if (!info.isDirectory()) throw new ConfigError(`source ${this.root} is not a folder`)
    // Streamed, so that the first objects are read while the rest is listed; in key order.
    for (const file of this.walk(this.root, progress)) {
      const key = relative(this.root, file).split(sep).join('/')
      if (!key.startsWith(FLOWLOG_KEY_PREFIX)) {
        this.stats.skippedForeign++
        continue
      }
      const parsed = parseKey(key)
      if (parsed?.hour_dir !== undefined && !hourInWindow(parsed.hour_dir, window)) {
        this.stats.prunedByTime++
        continue
      }
      let s
      try {
        s = statSync(file)
      } catch {
        continue // gone since it was listed
      }
      this.stats.listed++
      yield {key, size: s.size, mtime: Math.floor(s.mtimeMs)}
    }
  }

  async read(object: SourceObject): Promise<Uint8Array> {
    return readFile(this.localPath(object))
  }

  localPath(object: SourceObject): string {
    return join(this.root, ...object.key.split('/'))
  }

  /**
   * Files under `dir`, depth first, in the order of their paths: a folder's entries sorted with a `/` after folder
   * names, which is how their paths compare. Symbolic links are followed (the key is the link's path); a link to a
   * folder being walked (a loop) or walked already (listed twice), and a broken link, are skipped and named in
   * `stats.skipped`.
   */
  private *walk(dir: string, progress?: SourceProgress, walked = new Map<string, string>(), stack = new Set<string>()): Generator<string> {
    const real = realpathSync(dir)
    walked.set(real, dir)
    stack.add(real)
    this.stats.listRequests++
    progress?.onListRequest?.(dir)
    const entries: {name: string; dir: boolean; order: string}[] = []
    for (const e of readdirSync(dir, {withFileTypes: true})) {
      let isDir = e.isDirectory()
      let isFile = e.isFile()
      if (e.isSymbolicLink()) {
        const full = join(dir, e.name)
        let s
        try {
          s = statSync(full)
        } catch {
          this.skip(full, 'a broken symbolic link')
          continue
        }
        isDir = s.isDirectory()
        isFile = s.isFile()
        if (!isDir && !isFile) this.skip(full, 'a symbolic link to neither a file nor a folder')
      }
      if (isDir || isFile) entries.push({name: e.name, dir: isDir, order: isDir ? `${e.name}/` : e.name})
    }
    entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    for (const e of entries) {
      const full = join(dir, e.name)
      if (!e.dir) {
        yield full
        continue
      }
      let target: string
      try {
        target = realpathSync(full)
      } catch {
        this.skip(full, 'a folder that cannot be resolved')
        continue
      }
      if (stack.has(target)) this.skip(full, `a symbolic link loop (back to ${this.rel(walked.get(target)!) || '.'})`)
      else if (walked.has(target)) this.skip(full, `the same folder as ${this.rel(walked.get(target)!)}, listed already`)
      else yield* this.walk(full, progress, walked, stack)
    }
    stack.delete(real)
  }

  private rel(path: string): string {
    return relative(this.root, path).split(sep).join('/')
  }

  private skip(path: string, reason: string): void {
    ;(this.stats.skipped ??= []).push({path: this.rel(path), reason})
  }
}
