/**
 * A miniature of the local index (src/lib/store/README.md) for the query tests: the README's two tables in an
 * in-memory DuckDB, rows stored as prefix / rec / suffix with typed columns for regular rows, and a search that runs
 * the SQL back end on regular rows and a JavaScript predicate on irregular ones, the way the store does.
 */
import {DuckDBConnection, DuckDBInstance, type DuckDBValue} from '@duckdb/node-api'
import {expect} from 'chai'

import type {EnvelopeOptions} from '../../src/lib/records/envelope.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {flattenRow} from '../../src/lib/records/row.js'
import {ROW_FIELDS, isRegularRow} from '../../src/lib/records/schema.js'
import {type QueryNode, toPredicate, toSql} from '../../src/lib/query/index.js'

/** One object: either flow-log style (header + records, flattened with the key) or literal rows stored as is. */
export type TestObject =
  | {key: string; header: JsonObject; records: JsonObject[]; raw?: boolean}
  | {key: string; rows: JsonObject[]}

export interface StoredRow {
  okey: string
  idx: number
  row: JsonObject
  line: string
  regular: boolean
}

export interface StoredObject {
  key: string
  prefix: string
  suffix: string
  recs: string[]
  rows: StoredRow[]
}

function inner(json: string): string {
  return json.slice(1, -1)
}

/** Split an object's rows into the README's prefix / rec / suffix (composed when possible, else raw). */
export function storeForm(o: TestObject): StoredObject {
  let rows: JsonObject[]
  let composed = false
  if ('rows' in o) {
    rows = o.rows
  } else {
    rows = o.records.map((r) => flattenRow(o.header, r, o.key))
    composed =
      !o.raw &&
      Object.keys(o.header).length > 0 &&
      !('key' in o.header) &&
      o.records.every((r) => Object.keys(r).length > 0 && Object.keys(r).every((k) => k !== 'key' && !Object.hasOwn(o.header, k)))
  }
  let prefix = '{'
  let suffix = '}'
  let recs: string[]
  if (composed && !('rows' in o)) {
    prefix = `{${inner(JSON.stringify(o.header))},`
    suffix = `,"key":${JSON.stringify(o.key)}}`
    recs = o.records.map((r) => inner(JSON.stringify(r)))
  } else {
    recs = rows.map((r) => inner(JSON.stringify(r)))
  }
  const stored = rows.map((row, idx) => {
    const line = JSON.stringify(row)
    expect(prefix + recs[idx] + suffix, 'prefix || rec || suffix is the line').to.equal(line)
    return {okey: o.key, idx, row, line, regular: isRegular(row)}
  })
  return {key: o.key, prefix, suffix, recs, rows: stored}
}

/**
 * Regular as the README defines it: known fields of the expected JSON types (records/schema.ts isRegularRow) and no
 * string that needs JSON escaping, so the typed columns say exactly what the line says.
 */
export function isRegular(row: JsonObject): boolean {
  if (!isRegularRow(row)) return false
  return Object.values(row).every((v) => typeof v !== 'string' || JSON.stringify(v) === `"${v}"`)
}

const FIELD_COLUMNS = ROW_FIELDS.map((f) => `"${f.name}" ${f.sql}`).join(', ')

export class MiniStore {
  readonly objects: StoredObject[] = []
  private lastOid = 0
  /** The irregular rows as read back from the index, until the next add or clear (they depend on nothing else). */
  private irregular?: Promise<{okey: string; idx: number; line: string}[]>

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async create(): Promise<MiniStore> {
    const instance = await DuckDBInstance.create(':memory:')
    const connection = await instance.connect()
    await connection.run(`CREATE TABLE objects (
      key VARCHAR PRIMARY KEY, source VARCHAR, etag VARCHAR, size BIGINT, mtime BIGINT, records INTEGER, state VARCHAR,
      warnings VARCHAR, prefix VARCHAR, suffix VARCHAR, layout VARCHAR, account VARCHAR, region VARCHAR, zone VARCHAR,
      subnet_id VARCHAR, instance_id VARCHAR, vnic_id VARCHAR, record_type VARCHAR, hour_dir BIGINT, loaded_at BIGINT, oid BIGINT)`)
    await connection.run(`CREATE TABLE records (okey VARCHAR, oid BIGINT, idx INTEGER, ts BIGINT, irregular BOOLEAN, rec VARCHAR, ${FIELD_COLUMNS})`)
    return new MiniStore(instance, connection)
  }

  close(): void {
    this.connection.closeSync()
    this.instance.closeSync()
  }

  async clear(): Promise<void> {
    await this.connection.run('DELETE FROM records')
    await this.connection.run('DELETE FROM objects')
    this.objects.length = 0
    this.irregular = undefined
  }

  async add(objects: TestObject[]): Promise<StoredObject[]> {
    const out = objects.map(storeForm)
    this.irregular = undefined
    // Objects are joined to records by their integer oid (src/lib/store/README.md). One INSERT per table for the whole
    // call: the rows are the same as with one INSERT per row, in a fraction of the time.
    const objectValues: DuckDBValue[] = []
    const recordValues: DuckDBValue[] = []
    for (const o of out) {
      const oid = ++this.lastOid
      objectValues.push(o.key, o.prefix, o.suffix, o.rows.length, oid)
      for (const r of o.rows) {
        recordValues.push(o.key, oid, r.idx, !r.regular, o.recs[r.idx])
        for (const f of ROW_FIELDS) recordValues.push(!r.regular || !Object.hasOwn(r.row, f.name) ? null : (r.row[f.name] as DuckDBValue))
      }
      this.objects.push(o)
    }
    if (out.length > 0) {
      await this.connection.run(`INSERT INTO objects (key, source, prefix, suffix, records, oid) VALUES ${out.map(() => `(?, 'test', ?, ?, ?, ?)`).join(', ')}`, objectValues)
    }
    const rowCount = out.reduce((n, o) => n + o.rows.length, 0)
    if (rowCount > 0) {
      const cols = ROW_FIELDS.map((f) => `"${f.name}"`).join(', ')
      const tuple = `(?, ?, ?, NULL, ?, ?, ${ROW_FIELDS.map(() => '?').join(', ')})`
      await this.connection.run(
        `INSERT INTO records (okey, oid, idx, ts, irregular, rec, ${cols}) VALUES ${Array.from({length: rowCount}, () => tuple).join(', ')}`,
        recordValues,
      )
    }
    return out
  }

  /** `okey#idx` of the regular rows the SQL back end selects (optionally only in some objects). */
  async sqlMatches(ast: QueryNode, envelope: EnvelopeOptions = {}, okeys?: string[]): Promise<Set<string>> {
    const where = toSql(ast, envelope)
    const params = [...where.params] as DuckDBValue[]
    let restrict = ''
    if (okeys) {
      restrict = ` AND r.okey IN (${okeys.map(() => '?').join(', ')})`
      params.push(...okeys)
    }
    const reader = await this.connection.runAndReadAll(
      `SELECT r.okey, r.idx FROM records r JOIN objects o ON o.oid = r.oid WHERE NOT r.irregular AND (${where.sql})${restrict}`,
      params,
    )
    return new Set(reader.getRowObjects().map((r) => `${r.okey}#${r.idx}`))
  }

  /** The irregular rows, read back from the index (line = prefix || rec || suffix). */
  async irregularRows(okeys?: string[]): Promise<{okey: string; idx: number; line: string}[]> {
    const reader = await this.connection.runAndReadAll(
      `SELECT r.okey, r.idx, o.prefix || r.rec || o.suffix AS line FROM records r JOIN objects o ON o.oid = r.oid WHERE r.irregular ORDER BY r.okey, r.idx`,
    )
    return reader
      .getRowObjects()
      .map((r) => ({okey: String(r.okey), idx: Number(r.idx), line: String(r.line)}))
      .filter((r) => !okeys || okeys.includes(r.okey))
  }

  /**
   * What the store returns: SQL on regular rows, the predicate on irregular rows parsed from their stored line.
   * `irregular` defaults to toPredicate(ast, envelope).
   */
  async search(
    ast: QueryNode,
    envelope: EnvelopeOptions = {},
    okeys?: string[],
    irregular?: (row: JsonObject, okey: string, idx: number) => boolean,
  ): Promise<Set<string>> {
    const out = await this.sqlMatches(ast, envelope, okeys)
    const predicate = irregular ?? toPredicate(ast, envelope)
    this.irregular ??= this.irregularRows()
    for (const r of await this.irregular) {
      if (okeys && !okeys.includes(r.okey)) continue
      if (predicate(JSON.parse(r.line) as JsonObject, r.okey, r.idx)) out.add(`${r.okey}#${r.idx}`)
    }
    return out
  }

  /** The reference: the JavaScript predicate on every row. */
  jsMatches(ast: QueryNode, envelope: EnvelopeOptions = {}, okeys?: string[]): Set<string> {
    const predicate = toPredicate(ast, envelope)
    const out = new Set<string>()
    for (const o of this.objects) {
      if (okeys && !okeys.includes(o.key)) continue
      for (const r of o.rows) if (predicate(r.row, r.okey, r.idx)) out.add(`${r.okey}#${r.idx}`)
    }
    return out
  }

  regularCount(): number {
    return this.objects.reduce((n, o) => n + o.rows.filter((r) => r.regular).length, 0)
  }
}

export function sorted(s: Set<string>): string[] {
  return [...s].sort()
}
