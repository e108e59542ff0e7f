import {opendir, readFile, stat} from 'node:fs/promises'
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
    const files: string[] = []
    await this.walk(this.root, files, progress)
    files.sort()
    for (const file of files) {
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
      const s = await stat(file)
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

  private async walk(dir: string, out: string[], progress?: SourceProgress): Promise<void> {
    this.stats.listRequests++
    progress?.onListRequest?.(dir)
    const handle = await opendir(dir)
    for await (const entry of handle) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await this.walk(full, out, progress)
      else if (entry.isFile()) out.push(full)
    }
  }
}
