import type {JsonObject} from '../../src/lib/records/object.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {type PullOptions, type PullSummary, pullObjects} from '../../src/lib/sources/pull.js'
import {openStore, type Store} from '../../src/lib/store/store.js'
import {type FolderEntry, homeAt, tempDir, writeBucketFolder} from '../support/fixtures.js'
import {sharedParsePool} from '../support/pool.js'

/** A temp FLOWLOG_HOME and a bucket-like folder next to it. */
export interface Sandbox {
  root: string
  homeDir: string
  folder: string
  cleanup: () => void
}

export function sandbox(): Sandbox {
  const t = tempDir('flowlog-store-')
  return {root: t.dir, homeDir: `${t.dir}/home`, folder: `${t.dir}/bucket`, cleanup: t.cleanup}
}

/**
 * Pull `folder` into the index at `homeDir` with the real pipeline (worker threads, transactions): the process's
 * shared parse worker unless `options` asks for its own workers.
 */
export async function pullFolder(homeDir: string, folder: string, options: PullOptions = {}): Promise<PullSummary> {
  const store = await openStore(homeAt(homeDir))
  try {
    const workers = options.workers === undefined && options.pool === undefined ? {pool: sharedParsePool()} : {workers: 1}
    return await pullObjects(new FolderSource(folder), store, {...workers, ...options})
  } finally {
    await store.close()
  }
}

/** Run `fn` on a read-only store. */
export async function withReader<T>(homeDir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(homeAt(homeDir), {readOnly: true})
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

export async function loadEntries(s: Sandbox, entries: FolderEntry[]): Promise<PullSummary> {
  writeBucketFolder(s.folder, entries)
  return pullFolder(s.homeDir, s.folder)
}

export async function countRecords(homeDir: string): Promise<{objects: number; records: number}> {
  return withReader(homeDir, (store) => store.counts())
}

export type Doc = JsonObject
