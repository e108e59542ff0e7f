import {readdirSync, statSync} from 'node:fs'
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
  readonly stats: SourceStats = {listRequests: 0, listed: 0, skippedForeign: 0, prunedByTime: 0}
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
   * names, which is how their paths compare.
   */
  private *walk(dir: string, progress?: SourceProgress): Generator<string> {
    this.stats.listRequests++
    progress?.onListRequest?.(dir)
    const entries = readdirSync(dir, {withFileTypes: true})
      .filter((e) => e.isDirectory() || e.isFile())
      .map((e) => ({name: e.name, dir: e.isDirectory(), order: e.isDirectory() ? `${e.name}/` : e.name}))
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
    for (const e of entries) {
      const full = join(dir, e.name)
      if (e.dir) yield* this.walk(full, progress)
      else yield full
    }
  }
}
