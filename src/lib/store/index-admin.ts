import {existsSync, statSync} from 'node:fs'
import {rm} from 'node:fs/promises'

import type {Home, IndexName} from '../config/home.js'
import {isoTime} from '../ui/format.js'
import {acquireLock} from './lock.js'
import {openStore} from './store.js'

/** `flowlog index info` and `flowlog index reset`: what the index in use holds, and emptying it (docs/cli.md, "Indexes"). */
export interface IndexInfo {
  /** Which index is in use: your own, or the demo's. */
  index: IndexName
  path: string
  records: number
  objects: number
  /** Where the objects came from (a folder, cos://bucket), with their counts. */
  sources: {source: string; objects: number; records: number}[]
  /** The first and last record times (ISO 8601, UTC), null when no record has a time. */
  time_range: {first: string; last: string} | null
  /** The index on disk (the DuckDB file and its write-ahead log). */
  bytes: number
  /** The objects as they were loaded (their sizes in the source). */
  object_bytes: number
}

function sizeOnDisk(path: string): number {
  let n = 0
  for (const p of [path, `${path}.wal`]) if (existsSync(p)) n += statSync(p).size
  return n
}

export async function indexInfo(home: Home): Promise<IndexInfo> {
  const store = await openStore(home, {readOnly: true})
  try {
    const sources = await store.all(
      `SELECT coalesce(source, '') AS source, count(*) AS objects, coalesce(sum(records), 0) AS records, coalesce(sum(size), 0) AS bytes FROM objects GROUP BY 1 ORDER BY 1`,
    )
    const [range] = await store.all(`SELECT min(ts) AS first, max(ts) AS last FROM records`)
    return {
      index: home.index,
      path: home.indexPath,
      records: sources.reduce((a, s) => a + Number(s.records), 0),
      objects: sources.reduce((a, s) => a + Number(s.objects), 0),
      sources: sources.map((s) => ({source: String(s.source), objects: Number(s.objects), records: Number(s.records)})),
      time_range: range?.first === null || range?.first === undefined ? null : {first: isoTime(Number(range.first)), last: isoTime(Number(range.last))},
      bytes: sizeOnDisk(home.indexPath),
      object_bytes: sources.reduce((a, s) => a + Number(s.bytes), 0),
    }
  } finally {
    await store.close()
  }
}

export interface ResetResult {
  /** The index that was emptied. */
  reset: IndexName
  path: string
  records: number
  objects: number
}

/**
 * Empty the index in use: its files are removed under the writers' lock (a pull in progress finishes first), the next
 * pull builds it again. It stays the index in use, so every reading command sees it empty; after the demo's, a pull
 * goes back to your own.
 */
export async function resetIndex(home: Home, options: {onWait?: () => void} = {}): Promise<ResetResult> {
  const before = existsSync(home.indexPath) ? await indexInfo(home) : undefined
  const lock = await acquireLock(home.lockPath, {onWait: options.onWait})
  try {
    for (const suffix of ['', '.wal']) await rm(home.indexPath + suffix, {force: true})
  } finally {
    await lock.release()
  }
  return {reset: home.index, path: home.indexPath, records: before?.records ?? 0, objects: before?.objects ?? 0}
}
