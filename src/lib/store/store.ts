import {DuckDBConnection, DuckDBInstance} from '@duckdb/node-api'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'

import {ensureDir, type Home} from '../config/home.js'
import {FlowlogError} from '../errors.js'
import {HEADER_FIELDS, RECORD_FIELDS} from '../records/schema.js'
import type {EncodedObject} from './encode.js'
import {acquireLock, type Lock} from './lock.js'

export const SCHEMA_VERSION = 1

const FIELD_COLUMNS = [...RECORD_FIELDS, ...HEADER_FIELDS]

function ddl(): string[] {
  const headerCols = HEADER_FIELDS.map((f) => `"h_${f.name}" ${f.sql}`).join(', ')
  const fieldCols = FIELD_COLUMNS.map((f) => `"${f.name}" ${f.sql}`).join(', ')
  return [
    `CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)`,
    `CREATE TABLE IF NOT EXISTS objects (key VARCHAR PRIMARY KEY, source VARCHAR, etag VARCHAR, size BIGINT, mtime BIGINT,
      records INTEGER, state VARCHAR, warnings VARCHAR, prefix VARCHAR, suffix VARCHAR, layout VARCHAR,
      account VARCHAR, region VARCHAR, zone VARCHAR, subnet_id VARCHAR, instance_id VARCHAR, vnic_id VARCHAR,
      record_type VARCHAR, hour_dir BIGINT, loaded_at BIGINT, ${headerCols})`,
    `CREATE TABLE IF NOT EXISTS records (okey VARCHAR, idx INTEGER, ts BIGINT, irregular BOOLEAN, rec VARCHAR, ${fieldCols}, "key" VARCHAR)`,
  ]
}

export interface LoadedObjectInfo {
  etag: string | null
  size: number | null
  mtime: number | null
}

export interface ObjectMeta {
  source: string
  etag?: string
  size?: number
  mtime?: number
}

export interface OpenStoreOptions {
  /** Open for reading only (search, why-rejected, top); several readers may run at once. */
  readOnly?: boolean
  /** Called once when we must wait for another writer. */
  onWait?: (pid: number) => void
  lockWaitMs?: number
}

/** Values DuckDB returns: BIGINT columns come back as bigint; we hand out numbers. */
export type SqlValue = string | number | boolean | null
export type SqlRow = Record<string, SqlValue>

function toPlain(v: unknown): SqlValue {
  if (typeof v === 'bigint') return Number(v)
  if (v === undefined) return null
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  return String(v)
}

function isLockConflict(error: unknown): boolean {
  return /lock|Conflicting|already open/i.test((error as Error)?.message ?? '')
}

/**
 * The local index. One writer at a time (a lock file plus DuckDB's own file lock); every object is loaded inside a
 * transaction with its records, so a crash never leaves half an object.
 */
export class Store {
  private constructor(
    readonly home: Home,
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly lock: Lock | undefined,
    readonly readOnly: boolean,
  ) {}

  static async open(home: Home, options: OpenStoreOptions = {}): Promise<Store> {
    await ensureDir(home.root)
    const readOnly = Boolean(options.readOnly)
    let lock: Lock | undefined
    if (!readOnly) lock = await acquireLock(home.lockPath, {waitMs: options.lockWaitMs, onWait: options.onWait})
    try {
      if (readOnly) {
        const {existsSync} = await import('node:fs')
        if (!existsSync(home.indexPath)) {
          // Create an empty index so readers see empty tables rather than a missing file.
          const s = await Store.open(home, {...options, readOnly: false})
          await s.close()
        }
      }
      const deadline = Date.now() + (options.lockWaitMs ?? 30_000)
      let instance: DuckDBInstance | undefined
      let told = false
      for (;;) {
        try {
          instance = await DuckDBInstance.create(home.indexPath, readOnly ? {access_mode: 'READ_ONLY'} : {})
          break
        } catch (error) {
          if (!isLockConflict(error) || Date.now() > deadline) {
            throw new FlowlogError(`cannot open the index ${home.indexPath}: ${(error as Error).message}`, 1, {
              code: 'index_open',
              suggestions: isLockConflict(error) ? ['Another flowlog command is writing the index; wait for it to finish'] : [],
            })
          }
          if (!told) {
            options.onWait?.(0)
            told = true
          }
          await new Promise((r) => setTimeout(r, 200))
        }
      }
      const connection = await instance.connect()
      const store = new Store(home, instance, connection, lock, readOnly)
      if (!readOnly) await store.migrate()
      return store
    } catch (error) {
      await lock?.release()
      throw error
    }
  }

  private async migrate(): Promise<void> {
    for (const statement of ddl()) await this.connection.run(statement)
    await this.connection.run(`INSERT OR REPLACE INTO meta VALUES ('schema_version', '${SCHEMA_VERSION}')`)
  }

  async close(): Promise<void> {
    try {
      this.connection.closeSync()
      this.instance.closeSync()
    } finally {
      await this.lock?.release()
    }
  }

  /** Run a query and return plain rows (bigint → number). */
  async all(sql: string, params: unknown[] = []): Promise<SqlRow[]> {
    const reader = params.length
      ? await this.connection.runAndReadAll(sql, params as never)
      : await this.connection.runAndReadAll(sql)
    return reader.getRowObjects().map((row) => {
      const out: SqlRow = {}
      for (const k in row) out[k] = toPlain(row[k])
      return out
    })
  }

  async run(sql: string, params: unknown[] = []): Promise<void> {
    if (params.length) await this.connection.run(sql, params as never)
    else await this.connection.run(sql)
  }

  /** What is already loaded, by key, to make loading incremental. */
  async loadedObjects(): Promise<Map<string, LoadedObjectInfo>> {
    const rows = await this.all(`SELECT key, etag, size, mtime FROM objects`)
    const map = new Map<string, LoadedObjectInfo>()
    for (const r of rows) map.set(String(r.key), {etag: r.etag as string | null, size: r.size as number | null, mtime: r.mtime as number | null})
    return map
  }

  async counts(): Promise<{objects: number; records: number}> {
    const [o] = await this.all(`SELECT count(*) AS n FROM objects`)
    const [r] = await this.all(`SELECT count(*) AS n FROM records`)
    return {objects: Number(o.n), records: Number(r.n)}
  }

  /**
   * Commit encoded objects in one transaction: their old rows (if reloaded) are replaced, their records come from the
   * TSV files the parse workers wrote (ord-keyed). All or nothing.
   */
  async commit(objects: {encoded: EncodedObject; meta: ObjectMeta}[], tsvFiles: string[]): Promise<void> {
    if (objects.length === 0) return
    const c = this.connection
    await c.run('BEGIN TRANSACTION')
    try {
      await c.run(`CREATE OR REPLACE TEMP TABLE batch_objects AS SELECT * FROM objects WHERE false`)
      await c.run(`ALTER TABLE batch_objects ADD COLUMN ord INTEGER`)
      const cols = [
        'key', 'source', 'etag', 'size', 'mtime', 'records', 'state', 'warnings', 'prefix', 'suffix', 'layout',
        'account', 'region', 'zone', 'subnet_id', 'instance_id', 'vnic_id', 'record_type', 'hour_dir', 'loaded_at',
        ...HEADER_FIELDS.map((f) => `h_${f.name}`), 'ord',
      ]
      const appender = await c.createAppender('batch_objects', 'main', 'temp')
      const now = Date.now()
      for (const {encoded: e, meta} of objects) {
        const values: (string | number | null)[] = [
          e.key, meta.source, meta.etag ?? null, meta.size ?? null, meta.mtime ?? null, e.records, e.state,
          JSON.stringify(e.warnings), e.prefix, e.suffix, e.layout,
          e.keyFields.account as string | null, e.keyFields.region as string | null, e.keyFields.zone as string | null,
          e.keyFields.subnet_id as string | null, e.keyFields.instance_id as string | null, e.keyFields.vnic_id as string | null,
          e.keyFields.record_type as string | null, e.keyFields.hour_dir as number | null, now,
          ...e.header, e.ord,
        ]
        values.forEach((v, i) => {
          const name = cols[i]
          if (v === null) appender.appendNull()
          else if (name === 'size' || name === 'mtime' || name === 'hour_dir' || name === 'loaded_at') appender.appendBigInt(BigInt(v))
          else if (name === 'records' || name === 'ord') appender.appendInteger(Number(v))
          else appender.appendVarchar(String(v))
        })
        appender.endRow()
      }
      appender.flushSync()
      appender.closeSync()
      await c.run(`DELETE FROM records WHERE okey IN (SELECT key FROM batch_objects)`)
      await c.run(`DELETE FROM objects WHERE key IN (SELECT key FROM batch_objects)`)
      await c.run(`INSERT INTO objects SELECT ${cols.slice(0, -1).map((n) => `"${n}"`).join(', ')} FROM batch_objects`)
      const files = tsvFiles.filter(Boolean)
      if (files.length) {
        const tsvCols: Record<string, string> = {ord: 'INTEGER', idx: 'INTEGER', ts: 'BIGINT', irregular: 'BOOLEAN', hdr: 'BOOLEAN', rec: 'VARCHAR'}
        for (const f of RECORD_FIELDS) tsvCols[`f_${f.name}`] = f.sql
        for (const f of HEADER_FIELDS) tsvCols[`h_${f.name}`] = f.sql
        const columnsSql = `{${Object.entries(tsvCols).map(([k, v]) => `'${k}': '${v}'`).join(', ')}}`
        const fileList = `[${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}]`
        const select = [
          'b.key AS okey', 't.idx', 't.ts', 't.irregular', 't.rec',
          ...RECORD_FIELDS.map((f) => `t."f_${f.name}"`),
          ...HEADER_FIELDS.map((f) => `CASE WHEN t.hdr THEN b."h_${f.name}" ELSE t."h_${f.name}" END`),
          'b.key',
        ]
        await c.run(
          `INSERT INTO records SELECT ${select.join(', ')} FROM read_csv(${fileList}, delim='\t', quote='', escape='', header=false, ` +
            `nullstr='\\N', auto_detect=false, columns=${columnsSql}) t JOIN batch_objects b ON b.ord = t.ord`,
        )
      }
      await c.run('COMMIT')
    } catch (error) {
      await c.run('ROLLBACK').catch(() => undefined)
      throw error
    }
  }

  /** Delete everything (for `flowlog pull --rebuild`). */
  async clear(): Promise<void> {
    await this.run('DELETE FROM records')
    await this.run('DELETE FROM objects')
  }

  /** A directory for temporary batch files under the home. */
  get tmpDir(): string {
    return join(this.home.cacheDir, 'load')
  }

  async removeTmp(files: string[]): Promise<void> {
    await Promise.all(files.map((f) => rm(f, {force: true})))
  }
}

export async function openStore(home: Home, options: OpenStoreOptions = {}): Promise<Store> {
  return Store.open(home, options)
}
