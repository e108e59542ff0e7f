import type {DuckDBConnection, DuckDBInstance as DuckDBInstanceClass} from '@duckdb/node-api'
import {createRequire} from 'node:module'
import {rm, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {ensureDir, type Home} from '../config/home.js'
import {onInterrupt} from '../interrupt.js'
import {DiskFullError, errorMessage, FlowlogError, isDiskFull} from '../errors.js'
import {HEADER_FIELDS, RECORD_FIELDS} from '../records/schema.js'
import type {EncodedObject} from './encode.js'
import {acquireLock, indexHolders, IndexBusyError, type Lock, type LockHolder, registerReader} from './lock.js'
import {sleep} from '../sleep.js'
import {phase} from '../profile.js'

/**
 * DuckDB is loaded on first use (commands that never open the index do not pay for it) and, from dist/, from the one
 * file the build bundles @duckdb/node-api into (dist/vendor/duckdb-node-api.cjs: the package's ~160 CommonJS files
 * cost about 110 ms to resolve and compile, the bundle about 65, the native binding included). Under tsx (tests) the
 * package itself is loaded. docs/architecture.md §6 (lean start-up).
 */
type DuckDBModule = typeof import('@duckdb/node-api')
let duckdb: DuckDBModule | undefined
function loadDuckDB(): DuckDBModule {
  if (duckdb) return duckdb
  const require = createRequire(import.meta.url)
  try {
    duckdb = require('../../vendor/duckdb-node-api.cjs') as DuckDBModule
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error
    duckdb = require('@duckdb/node-api') as DuckDBModule
  }
  return duckdb
}
type DuckDBInstance = DuckDBInstanceClass

export const SCHEMA_VERSION = 12

/** An index holding no object is well under this size; a larger one is started again (Store.open). */
const EMPTY_INDEX_BYTES = 2 * 1024 * 1024


function ddl(): string[] {
  const headerCols = HEADER_FIELDS.map((f) => `"h_${f.name}" ${f.sql}`).join(', ')
  // Record strings (times, addresses, a few words) repeat a lot: dictionary compression, chosen up front, loads faster
  // than letting DuckDB try FSST on every segment, and the dictionary-encoded columns filter faster too.
  const recordCols = RECORD_FIELDS.map((f) => `"${f.name}" ${f.sql}${f.sql === 'VARCHAR' ? ' USING COMPRESSION dictionary' : ''}`).join(', ')
  const rawHeaderCols = ['hdr_raw BOOLEAN', ...HEADER_FIELDS.map((f) => `"rh_${f.name}" ${f.sql}`)].join(', ')
  return [
    `CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)`,
    `CREATE TABLE IF NOT EXISTS objects (key VARCHAR NOT NULL, source VARCHAR NOT NULL, etag VARCHAR, size BIGINT, mtime BIGINT,
      records INTEGER, state VARCHAR, warnings VARCHAR, prefix VARCHAR, suffix VARCHAR, layout VARCHAR,
      account VARCHAR, region VARCHAR, zone VARCHAR, subnet_id VARCHAR, instance_id VARCHAR, vnic_id VARCHAR,
      record_type VARCHAR, hour_dir BIGINT, loaded_at BIGINT, total INTEGER, win_since BIGINT, win_until BIGINT, ${headerCols},
      oid BIGINT, irregular INTEGER, krank BIGINT, PRIMARY KEY (source, key))`,
    // Records point at their object by a small integer (oid), not by its ~350-byte key. Canonical rows (README.md),
    // nearly all of them, hold only their typed record columns; the others, with their raw text and raw header
    // columns, are in records_odd.
    // dup (docs/architecture.md §7): the row's connection key may be shared by another row (false: it is not, for rows
    // whose oid is below meta.dup_below; rows above are not checked yet).
    `CREATE TABLE IF NOT EXISTS records_data (oid BIGINT, idx INTEGER, ts BIGINT, ${recordCols}, dup BOOLEAN)`,
    // The rows of records_data whose dup is true, copied whole (markDuplicates): the merge of top, stats and
    // connections reads this small table instead of scanning every row for the few it needs.
    `CREATE TABLE IF NOT EXISTS records_dup AS SELECT * FROM records_data WHERE false`,
    `CREATE TABLE IF NOT EXISTS records_odd (oid BIGINT, idx INTEGER, ts BIGINT, irregular BOOLEAN, rec_raw VARCHAR, ${recordCols}, ${rawHeaderCols})`,
    `CREATE OR REPLACE VIEW records AS ${recordsViewSql()}`,
  ]
}

/**
 * The row a query sees (README.md): record columns, header columns from the object (or the row itself for raw rows),
 * key; and two integers for fast plans: `oid` (join to objects on it, not on the long key) and `krank`, the object's
 * rank in key order (sort on it instead of okey: the same order, an integer comparison).
 */
export function recordsViewSql(stored = false): string {
  // krank: stored by rankObjects after each pull; computed here when some object has none yet (a pull under way).
  const ranked = stored ? 'objects' : `(SELECT * EXCLUDE (krank), row_number() OVER (ORDER BY key, source) AS krank FROM objects)`
  return `${dataRowsSql(ranked)} UNION ALL ${oddRowsSql(ranked)}`
}

const recordSelect = (p: string) => RECORD_FIELDS.map((f) => `${p}"${f.name}"`).join(', ')

/** The view's canonical rows (records_data), with `objects` (or a copy of it with krank computed). */
function dataRowsSql(objects: string): string {
  return (
    `SELECT ob.key AS okey, d.idx, d.ts, false AS irregular, CAST(NULL AS VARCHAR) AS rec_raw, ${recExpression('d.')} AS rec, ` +
    `${recordSelect('d.')}, ${HEADER_FIELDS.map((f) => `ob."h_${f.name}" AS "${f.name}"`).join(', ')}, ` +
    `ob.key AS "key", d.oid, ob.krank, d.dup FROM records_data d JOIN ${objects} ob ON ob.oid = d.oid`
  )
}

/** The view's other rows (records_odd: general and irregular), the columns of the view. */
export function oddRowsSql(objects = 'objects'): string {
  return (
    `SELECT ob.key AS okey, x.idx, x.ts, x.irregular, x.rec_raw, COALESCE(x.rec_raw, ${recExpression('x.')}) AS rec, ` +
    `${recordSelect('x.')}, ` +
    `${HEADER_FIELDS.map((f) => `CASE WHEN x.hdr_raw THEN x."rh_${f.name}" ELSE ob."h_${f.name}" END AS "${f.name}"`).join(', ')}, ` +
    `ob.key AS "key", x.oid, ob.krank, CAST(NULL AS BOOLEAN) AS dup FROM records_odd x JOIN ${objects} ob ON ob.oid = x.oid`
  )
}

export function recExpression(p: string): string {
  const parts = RECORD_FIELDS.map((f) => {
    const name = JSON.stringify(f.name)
    const col = `${p}"${f.name}"`
    const value = f.type === 'string' ? `'"' || ${col} || '"'` : `CAST(${col} AS VARCHAR)`
    return `CASE WHEN ${col} IS NOT NULL THEN '${name}:' || ${value} END`
  })
  return `concat_ws(',', ${parts.join(', ')})`
}

export interface LoadedObjectInfo {
  etag: string | null
  size: number | null
  mtime: number | null
  /** The window the object was loaded with (null: unbounded). */
  since: number | null
  until: number | null
}

export interface ObjectMeta {
  source: string
  etag?: string
  size?: number
  mtime?: number
  /** Only records inside this window were loaded. */
  window?: {since?: number; until?: number}
}

export interface OpenStoreOptions {
  /** Open for reading only (search, why-rejected, top); several readers may run at once. */
  readOnly?: boolean
  /** Called once when we must wait, with who holds the index (and whether it reads or writes), when known. */
  onWait?: (holder: LockHolder | undefined) => void
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

const OBJECT_COLUMNS = [
  'key', 'source', 'etag', 'size', 'mtime', 'records', 'state', 'warnings', 'prefix', 'suffix', 'layout',
  'account', 'region', 'zone', 'subnet_id', 'instance_id', 'vnic_id', 'record_type', 'hour_dir', 'loaded_at',
  'total', 'win_since', 'win_until', ...HEADER_FIELDS.map((f) => `h_${f.name}`), 'oid', 'irregular', 'krank',
]
const BIGINT_OBJECT_COLUMNS = new Set(['size', 'mtime', 'hour_dir', 'loaded_at', 'win_since', 'win_until', 'oid'])
const INTEGER_OBJECT_COLUMNS = new Set(['records', 'total', 'irregular'])

function fileList(files: string[]): string {
  return `[${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}]`
}

function readTsv(files: string[], columns: [string, string][]): string {
  const columnsSql = `{${columns.map(([k, v]) => `'${k}': '${v}'`).join(', ')}}`
  return `read_csv(${fileList(files)}, delim='\t', quote='', escape='', header=false, nullstr='\\N', auto_detect=false, columns=${columnsSql})`
}

/** The tables records are stored in: canonical rows, and the others. */
const RECORD_TABLES = ['records_data', 'records_odd', 'records_dup']

/** Canonical lines (scan.ts) into records_data: record fields, ord, idx, ts. */
function canonicalSelect(base: number, files: string[]): string {
  const columns: [string, string][] = [...RECORD_FIELDS.map((f): [string, string] => [`f_${f.name}`, f.sql]), ['ord', 'BIGINT'], ['idx', 'INTEGER'], ['ts', 'BIGINT']]
  const select = [`t.ord + ${base}`, 't.idx', 't.ts', ...RECORD_FIELDS.map((f) => `t."f_${f.name}"`), 'false']
  return `SELECT ${select.join(', ')} FROM ${readTsv(files, columns)} t`
}

/** The connection key of a record row (docs/connections.md): the columns a connection's records share. */
export const CONNECTION_KEY_HASH = `hash(initiator_ip, initiator_port, target_ip, target_port, transport_protocol, action)`

/**
 * A condition on a records_data row (or a row of the records view) `p`: true when no other row of the index has its
 * connection key, so the row is a connection of its own (docs/architecture.md §7). NULL or false: it may share it.
 * `below` is Store.dupBelow() (a number read from the index, so it goes into the text: the scan filters on it).
 */
export function uniqueKeySql(below: number, p = 'r.'): string {
  return `(${p}oid < ${Math.trunc(below)} AND NOT ${p}dup)`
}

/** General lines (encode.ts) into records_odd: ord, idx, ts, irregular, hdr, rec, record fields, header fields. */
function generalSelect(base: number, files: string[]): string {
  const columns: [string, string][] = [
    ['ord', 'BIGINT'], ['idx', 'INTEGER'], ['ts', 'BIGINT'], ['irregular', 'BOOLEAN'], ['hdr', 'BOOLEAN'], ['rec', 'VARCHAR'],
    ...RECORD_FIELDS.map((f): [string, string] => [`f_${f.name}`, f.sql]),
    ...HEADER_FIELDS.map((f): [string, string] => [`h_${f.name}`, f.sql]),
  ]
  const select = [
    `t.ord + ${base}`, 't.idx', 't.ts', 't.irregular', 't.rec',
    ...RECORD_FIELDS.map((f) => `t."f_${f.name}"`),
    'NOT t.hdr',
    ...HEADER_FIELDS.map((f) => `t."h_${f.name}"`),
  ]
  return `SELECT ${select.join(', ')} FROM ${readTsv(files, columns)} t`
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

  /** Every object had its rank (krank) stored when this session began (Store.connect: the view reads it then). */
  ranksStored = false

  private loadLanes: {connection: DuckDBConnection; open: boolean}[] = []
  private loadBase = 0

  static async open(home: Home, options: OpenStoreOptions = {}): Promise<Store> {
    phase('store open')
    await ensureDir(home.root)
    const readOnly = Boolean(options.readOnly)
    let lock: Lock | undefined
    let reader: Lock | undefined
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
          instance = await loadDuckDB().DuckDBInstance.create(home.indexPath, readOnly ? {access_mode: 'READ_ONLY'} : {})
          break
        } catch (error) {
          if (!isLockConflict(error)) throw new FlowlogError(`cannot open the index ${home.indexPath}: ${(error as Error).message}`, 1, {code: 'index_open', cause: error})
          // DuckDB's file lock: a writer is blocked by any reader or writer, a reader by a writer.
          const holders = (await indexHolders(home.lockPath)).filter((h) => !readOnly || h.mode === 'write')
          if (Date.now() > deadline) throw new IndexBusyError(holders[0])
          if (!told) {
            options.onWait?.(holders[0])
            told = true
          }
          await sleep(200)
        }
      }
      phase('duckdb instance')
      // A reader says so, for a writer it blocks (lock.ts).
      if (readOnly) reader = await registerReader(home.lockPath)
      let store = await Store.connect(home, instance, lock ?? reader, readOnly)
      if (!readOnly && (await store.holdsNothingButSpace())) {
        // An index that holds no object but takes space (a load rolled back by a full disk leaves its blocks
        // allocated): start it again from nothing rather than keep megabytes of free blocks.
        store.unhook?.()
        store.connection.closeSync()
        instance.closeSync()
        await Promise.all([rm(home.indexPath, {force: true}), rm(`${home.indexPath}.wal`, {force: true})])
        store = await Store.connect(home, await loadDuckDB().DuckDBInstance.create(home.indexPath), lock, readOnly)
      }
      return store
    } catch (error) {
      await lock?.release()
      await reader?.release()
      if (isDiskFull(error)) {
        throw new DiskFullError(`no space left on the disk holding ${home.indexPath}: ${errorMessage(error).slice(0, 200)}`, {cause: error})
      }
      throw error
    }
  }

  private static async connect(home: Home, instance: DuckDBInstance, lock: Lock | undefined, readOnly: boolean): Promise<Store> {
    const connection = await instance.connect()
    const store = new Store(home, instance, connection, lock, readOnly)
    // Ctrl-C / timeout: the query running now stops at once (src/lib/interrupt.ts).
    store.unhook = onInterrupt(() => connection.interrupt())
    if (!readOnly) await store.migrate()
    else await store.checkVersion()
    // This version's view for this session, whatever view the file holds (a reader cannot replace it). The objects'
    // order (krank) is read from the table when every object has it: a window over the objects costs tens of ms.
    const [unranked] = await store.all(`SELECT count(*) AS n FROM objects WHERE krank IS NULL`)
    store.ranksStored = Number(unranked.n) === 0
    await connection.run(`CREATE OR REPLACE TEMP VIEW records AS ${recordsViewSql(store.ranksStored)}`)
    return store
  }

  /** No object in the index, yet its file (and WAL) take more than an empty index does. */
  private async holdsNothingButSpace(): Promise<boolean> {
    const [row] = await this.all(`SELECT count(*) AS n FROM objects`)
    if (Number(row.n) !== 0) return false
    const size = async (p: string) => (await stat(p).catch(() => undefined))?.size ?? 0
    return (await size(this.home.indexPath)) + (await size(`${this.home.indexPath}.wal`)) > EMPTY_INDEX_BYTES
  }

  /** A reader cannot migrate: an index written by another version of flowlog must be rebuilt by a pull. */
  private async checkVersion(): Promise<void> {
    let version: string | undefined
    try {
      const [row] = await this.all(`SELECT value FROM meta WHERE name = 'schema_version'`)
      version = row?.value as string | undefined
    } catch {
      version = undefined
    }
    if (version !== String(SCHEMA_VERSION)) {
      await this.close()
      throw new FlowlogError(`the index ${this.home.indexPath} was written by another version of flowlog`, 3, {
        code: 'index_version',
        suggestions: ['Run `flowlog pull --source …` (or `flowlog demo`) to rebuild it'],
      })
    }
  }

  private async migrate(): Promise<void> {
    await this.connection.run(`CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)`)
    const [row] = await this.all(`SELECT value FROM meta WHERE name = 'schema_version'`)
    if (row && row.value !== String(SCHEMA_VERSION)) {
      // The index is a cache of the bucket: an index from another version is rebuilt by the next pull.
      await this.connection.run(`DROP VIEW IF EXISTS records`).catch(() => undefined)
      for (const t of ['records', 'records_data', 'records_odd', 'records_dup', 'objects']) await this.connection.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined)
      await this.connection.run(`DROP SEQUENCE IF EXISTS object_ids`).catch(() => undefined)
    }
    for (const statement of ddl()) await this.connection.run(statement)
    // Bulk loads: let the WAL grow instead of checkpointing after every batch; close() checkpoints once.
    await this.connection.run(`SET checkpoint_threshold = '1GB'`)
    // Loading: the parse workers use the other cores; DuckDB's own threads would only contend with them.
    await this.connection.run(`SET threads = 1`)
    await this.connection.run(`INSERT OR REPLACE INTO meta VALUES ('schema_version', '${SCHEMA_VERSION}')`)
  }

  /** Removes the interrupt hook registered by open. */
  private unhook?: () => void

  async close(): Promise<void> {
    this.unhook?.()
    try {
      if (!this.readOnly) {
        // Loading is over: the checkpoint (compression) may use every core.
        await this.connection.run('RESET threads').catch(() => undefined)
        await this.connection.run('CHECKPOINT').catch(() => undefined)
      }
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

  /** What is already loaded from a source, by key, to make loading incremental. */
  async loadedObjects(source: string): Promise<Map<string, LoadedObjectInfo>> {
    const rows = await this.all(`SELECT key, etag, size, mtime, win_since, win_until FROM objects WHERE source = ?`, [source])
    const map = new Map<string, LoadedObjectInfo>()
    for (const r of rows) {
      map.set(String(r.key), {
        etag: r.etag as string | null,
        size: r.size as number | null,
        mtime: r.mtime as number | null,
        since: r.win_since as number | null,
        until: r.win_until as number | null,
      })
    }
    return map
  }

  /** True when nothing has been loaded yet. */
  async isEmpty(): Promise<boolean> {
    return (await this.totals()).records === 0
  }

  /** Records in the index, and how many of them are irregular (0 lets searches skip the JavaScript pass). */
  async totals(): Promise<{records: number; irregular: number}> {
    const [row] = await this.all(`SELECT coalesce(sum(records), 0) AS records, coalesce(sum(irregular), 0) AS irregular FROM objects`)
    return {records: Number(row.records), irregular: Number(row.irregular)}
  }

  async counts(): Promise<{objects: number; records: number}> {
    const [o] = await this.all(`SELECT count(*) AS n FROM objects`)
    const [r] = await this.all(`SELECT (SELECT count(*) FROM records_data) + (SELECT count(*) FROM records_odd) AS n`)
    return {objects: Number(o.n), records: Number(r.n)}
  }

  /**
   * Start a load through `lanes` connections (the store's own and lanes-1 more). append() adds parse batches to a
   * lane's transaction (opened when needed), commitLane() commits it: whole objects only, so a kill loses only what no
   * commit took. While one lane commits (DuckDB compresses and writes its rows then), the next can take appends.
   * endLoad() commits every lane and ends the load. Object ids of this load are `base + ord`, so records need no
   * lookup of their object.
   */
  async beginLoad(lanes = 1): Promise<void> {
    if (this.loadLanes.length) throw new FlowlogError('a load is already open', 1)
    // Never below the duplicate check's mark (markDuplicates): rows under it count as checked.
    const [row] = await this.all(
      `SELECT greatest(coalesce((SELECT max(oid) FROM objects), 0), coalesce((SELECT CAST(value AS BIGINT) FROM meta WHERE name = 'dup_below'), 1) - 1) AS m`,
    )
    this.loadBase = Number(row.m)
    const connections = [this.connection]
    for (let i = 1; i < lanes; i++) connections.push(await this.instance.connect())
    // Only now is the load open: every lane exists.
    this.loadLanes = connections.map((connection) => ({connection, open: false}))
  }

  /** Whether a load is open. */
  get loading(): boolean {
    return this.loadLanes.length > 0
  }

  /** Commit a lane's transaction, if it has one; the lane stays usable. */
  async commitLane(lane: number): Promise<void> {
    const l = this.loadLanes[lane]
    if (!l?.open) return
    l.open = false
    await l.connection.run('COMMIT')
  }

  /** Commit every lane and end the load. */
  async endLoad(): Promise<void> {
    try {
      for (let i = 0; i < this.loadLanes.length; i++) await this.commitLane(i)
    } finally {
      this.closeLanes()
    }
  }

  /**
   * Store each object's rank in key order (krank: ties of a time sort are broken by it, docs/architecture.md §4), for
   * the objects whose rank changed. Run after a load; until then the view computes the ranks itself.
   */
  async rankObjects(): Promise<void> {
    await this.run(
      `UPDATE objects SET krank = k.r FROM (SELECT oid, row_number() OVER (ORDER BY key, source) AS r FROM objects) k ` +
        `WHERE objects.oid = k.oid AND objects.krank IS DISTINCT FROM k.r`,
    )
  }

  /** The rows with an oid below this were checked by markDuplicates (0: none). */
  async dupBelow(): Promise<number> {
    const [row] = await this.all(`SELECT CAST(value AS BIGINT) AS v FROM meta WHERE name = 'dup_below'`)
    return row?.v === null || row?.v === undefined || !Number.isSafeInteger(Number(row.v)) ? 0 : Number(row.v)
  }

  /**
   * Check the rows loaded since the last check (oid >= meta.dup_below) for connection keys another row shares, set
   * `dup` on every row of those keys, and move dup_below past them, in one transaction (docs/architecture.md §7).
   * Rows a kill left above the mark are checked by the next pull; until then queries merge them the slow way.
   */
  async markDuplicates(): Promise<void> {
    const [row] = await this.all(
      `SELECT (SELECT max(oid) FROM records_data) AS top, (SELECT CAST(value AS BIGINT) FROM meta WHERE name = 'dup_below') AS below, ` +
        `(SELECT count(*) FROM records_data) AS n`,
    )
    if (row.top === null) return
    const top = Number(row.top)
    const below = row.below === null ? 0 : Number(row.below)
    if (top < below) return
    await this.run('RESET threads')
    await this.run('BEGIN TRANSACTION')
    try {
      const [fresh] = await this.all(`SELECT count(*) AS n FROM records_data WHERE oid >= ?`, [below])
      // Mostly new rows: one grouping of every key; a few: only the keys of the new rows are looked up.
      const keys =
        Number(fresh.n) * 4 > Number(row.n)
          ? `SELECT kh FROM (SELECT ${CONNECTION_KEY_HASH} AS kh, oid FROM records_data) GROUP BY kh HAVING count(*) > 1 AND max(oid) >= ${below}`
          : `SELECT kh FROM (SELECT ${CONNECTION_KEY_HASH} AS kh FROM records_data) ` +
            `WHERE kh IN (SELECT ${CONNECTION_KEY_HASH} FROM records_data WHERE oid >= ${below}) GROUP BY kh HAVING count(*) > 1`
      await this.run(`CREATE OR REPLACE TEMP TABLE dup_keys AS ${keys}`)
      await this.run(`INSERT INTO records_dup SELECT * FROM records_data WHERE NOT dup AND ${CONNECTION_KEY_HASH} IN (SELECT kh FROM dup_keys)`)
      await this.run(`UPDATE records_dup SET dup = true WHERE NOT dup`)
      await this.run(`UPDATE records_data SET dup = true WHERE NOT dup AND ${CONNECTION_KEY_HASH} IN (SELECT kh FROM dup_keys)`)
      await this.run(`DROP TABLE dup_keys`)
      await this.run(`INSERT OR REPLACE INTO meta VALUES ('dup_below', '${top + 1}')`)
      await this.run('COMMIT')
      phase('pull: shared connection keys marked')
    } catch (error) {
      await this.run('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      await this.run('SET threads = 1')
    }
  }

  /** Roll back what no commit took and end the load. */
  async rollbackLoad(): Promise<void> {
    for (const l of this.loadLanes) {
      if (!l.open) continue
      l.open = false
      await l.connection.run('ROLLBACK').catch(() => undefined)
    }
    this.closeLanes()
  }

  private closeLanes(): void {
    for (const l of this.loadLanes) if (l.connection !== this.connection) l.connection.closeSync()
    this.loadLanes = []
  }

  /**
   * Add encoded objects to a lane of the open load (whole objects; after a failed statement the load must be rolled
   * back). Their old rows (if reloaded) are replaced; their records come from the TSV files the parse workers wrote:
   * canonical files (the scanner's lines, into records_data) and general ones (encode.ts lines, into records_odd).
   */
  async append(
    objects: {encoded: EncodedObject; meta: ObjectMeta}[],
    files: {canonical: string[]; general: string[]},
    options: {replace?: boolean; lane?: number} = {},
  ): Promise<void> {
    if (objects.length === 0) return
    const l = this.loadLanes[options.lane ?? 0]
    if (!l) throw new FlowlogError('append() outside a load', 1)
    const c = l.connection
    if (!l.open) {
      await c.run('BEGIN TRANSACTION')
      l.open = true
    }
    const base = this.loadBase
    await c.run(`CREATE OR REPLACE TEMP TABLE batch_objects AS SELECT * FROM objects WHERE false`)
    const appender = await c.createAppender('batch_objects', 'main', 'temp')
    const now = Date.now()
    for (const {encoded: e, meta} of objects) {
      const values: (string | number | null)[] = [
        e.key, meta.source, meta.etag ?? null, meta.size ?? null, meta.mtime ?? null, e.records, e.state,
        JSON.stringify(e.warnings), e.prefix, e.suffix, e.layout,
        e.keyFields.account as string | null, e.keyFields.region as string | null, e.keyFields.zone as string | null,
        e.keyFields.subnet_id as string | null, e.keyFields.instance_id as string | null, e.keyFields.vnic_id as string | null,
        e.keyFields.record_type as string | null, e.keyFields.hour_dir as number | null, now,
        e.total, meta.window?.since ?? null, meta.window?.until ?? null,
        ...e.header, base + e.ord, e.irregular, null,
      ]
      values.forEach((v, i) => {
        const name = OBJECT_COLUMNS[i]
        if (v === null) appender.appendNull()
        else if (BIGINT_OBJECT_COLUMNS.has(name)) appender.appendBigInt(BigInt(v))
        else if (INTEGER_OBJECT_COLUMNS.has(name)) appender.appendInteger(Number(v))
        else appender.appendVarchar(String(v))
      })
      appender.endRow()
    }
    appender.flushSync()
    appender.closeSync()
    // Replacing (a reloaded object) needs a scan; a first load does not, which keeps bulk loads linear.
    if (options.replace !== false) {
      // The index key is the source and the key: two folders holding the same relative key never replace each other.
      const old = `SELECT o.oid FROM objects o JOIN batch_objects b ON o.source = b.source AND o.key = b.key`
      for (const table of RECORD_TABLES) await c.run(`DELETE FROM ${table} WHERE oid IN (${old})`)
      await c.run(`DELETE FROM objects WHERE oid IN (${old})`)
    }
    await c.run(`INSERT INTO objects SELECT * FROM batch_objects`)
    const canonical = files.canonical.filter(Boolean)
    if (canonical.length) await c.run(`INSERT INTO records_data ${canonicalSelect(base, canonical)}`)
    const general = files.general.filter(Boolean)
    if (general.length) await c.run(`INSERT INTO records_odd ${generalSelect(base, general)}`)
  }

  /** Forget every object loaded from a source (the demo rewrites its folder). */
  async removeSource(sourceId: string): Promise<void> {
    await this.run('BEGIN TRANSACTION')
    try {
      for (const table of RECORD_TABLES) await this.run(`DELETE FROM ${table} WHERE oid IN (SELECT oid FROM objects WHERE source = ?)`, [sourceId])
      await this.run(`DELETE FROM objects WHERE source = ?`, [sourceId])
      await this.run('COMMIT')
    } catch (error) {
      await this.run('ROLLBACK').catch(() => undefined)
      throw error
    }
  }

  /** Remove batch files a killed load left behind (only the lock holder writes there). */
  async cleanTmp(): Promise<void> {
    if (this.readOnly) return
    await rm(this.tmpDir, {recursive: true, force: true})
  }

  /** Delete everything (for `flowlog pull --rebuild`). */
  async clear(): Promise<void> {
    for (const table of RECORD_TABLES) await this.run(`DELETE FROM ${table}`)
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
