import {UsageError} from '../errors.js'
import {phase} from '../profile.js'
import type {JsonObject, JsonValue} from '../records/object.js'
import {type FieldSpec, ROW_FIELD_MAP} from '../records/schema.js'
import {parseTimestamp} from '../records/time.js'
import type {Store} from '../store/store.js'
import {uniqueKeySql} from '../store/store.js'
import {byteValue, plain, type QuerySpec, regularRows, scanIrregular} from './records-sql.js'

/**
 * Connections, not copies (docs/connections.md). A connection inside the VPC is logged at both of its interfaces
 * (egress `O` at the initiator's vNIC, ingress `I` at the target's), and a long one once per capture window. The
 * records of one connection are merged here, in SQL over the index, so counts stay fast at millions of records:
 *
 * - same key: initiator_ip, initiator_port, target_ip, target_port, transport_protocol and action (a connection
 *   accepted at one interface and rejected at the other stays two rows, each naming its interface);
 * - overlapping windows: a record's window is its object's capture window [capture_start_time, capture_end_time]
 *   (else its record time). Records are chained in window order: one whose window starts after every earlier one
 *   ended starts a new connection; one starting exactly where the previous ended continues it unless it says the
 *   connection began in its own window (was_initiated true). Non-overlapping records stay apart.
 * - a record missing any key field or any time is a connection of its own.
 *
 * Bytes and packets of a connection, per direction: summed over each interface's records, then the largest
 * interface total (both interfaces see the same bytes; summing them would count them twice).
 *
 * Irregular rows (src/lib/store/README.md: evaluated from their line) take part too: the query's predicate picks
 * them in JavaScript and their values go into a temporary table the SQL reads beside the regular rows.
 */

/** The SQL type of each column of the merge input, in order. */
const INPUT_COLUMNS: [string, string][] = [
  ['ii', 'VARCHAR'], ['ipt', 'BIGINT'], ['ti', 'VARCHAR'], ['tpt', 'BIGINT'], ['pr', 'BIGINT'], ['act', 'VARCHAR'],
  ['ts', 'BIGINT'], ['lo', 'BIGINT'], ['hi', 'BIGINT'], ['te', 'BIGINT'], ['wi', 'BOOLEAN'], ['nic', 'VARCHAR'], ['nic_ip', 'VARCHAR'],
  ['bi', 'DOUBLE'], ['pi', 'DOUBLE'], ['bt', 'DOUBLE'], ['pt', 'DOUBLE'], ['rid', 'UBIGINT'],
]

/** The temporary table of irregular rows holds the object key and index; the merge reads their hash, as for regular rows. */
const IRREGULAR_COLUMNS: [string, string][] = [...INPUT_COLUMNS.slice(0, -1), ['okey', 'VARCHAR'], ['idx', 'INTEGER']]

/** epoch ms of an RFC 3339 string column ('' and garbage: NULL). */
const epochOf = (col: string) => `epoch_ms(TRY_CAST(NULLIF(${col}, '') AS TIMESTAMPTZ))`

/** Objects with their capture window parsed once per object (not once per record). */
const OBJECTS_WITH_WINDOW = `(SELECT *, ${epochOf('h_capture_start_time')} AS cs, ${epochOf('h_capture_end_time')} AS ce FROM objects)`

/** The interface's own address: the initiator for `O`, the target for `I` (flow-log-format, direction; Q4 spellings). */
const nicIpSql = `CASE lower(r.direction) WHEN 'o' THEN r.initiator_ip WHEN 'outbound' THEN r.initiator_ip WHEN 'i' THEN r.target_ip WHEN 'inbound' THEN r.target_ip END`

/**
 * The merge input columns of a regular row `r` with its object `w` (OBJECTS_WITH_WINDOW). A records_data row's capture
 * window is its object's; a row of the view may carry its own header (a raw one), read when the object's is unusable.
 */
function regularSelect(groups: (FieldSpec | undefined)[], table: 'records_data' | 'records'): string {
  const own = table === 'records'
  const cs = own ? `COALESCE(w.cs, ${epochOf('r.capture_start_time')})` : 'w.cs'
  const ce = own ? `COALESCE(w.ce, ${epochOf('r.capture_end_time')})` : 'w.ce'
  const lo = `COALESCE(${cs}, r.ts)`
  const cols = [
    'r.initiator_ip', 'r.initiator_port', 'r.target_ip', 'r.target_port', 'r.transport_protocol', 'r.action', 'r.ts',
    lo, `greatest(COALESCE(${ce}, ${lo}), ${lo})`, `COALESCE(${epochOf('r.end_time')}, ${ce}, r.ts)`, 'r.was_initiated',
    `COALESCE(${own ? 'r.network_interface_id' : 'w.h_network_interface_id'}, w.key)`, nicIpSql,
    'CAST(COALESCE(r.bytes_from_initiator, 0) AS DOUBLE)', 'CAST(COALESCE(r.packets_from_initiator, 0) AS DOUBLE)',
    'CAST(COALESCE(r.bytes_from_target, 0) AS DOUBLE)', 'CAST(COALESCE(r.packets_from_target, 0) AS DOUBLE)', 'hash(w.key, r.idx)',
  ].map((sql, i) => `${sql} AS ${INPUT_COLUMNS[i][0]}`)
  groups.forEach((g, k) => cols.push(`${g ? `r."${g.name}"` : 'NULL'} AS g${k}`, `CAST(NULL AS VARCHAR) AS gj${k}`))
  return cols.join(', ')
}

const str = (v: JsonValue | undefined) => (typeof v === 'string' ? v : null)
const int = (v: JsonValue | undefined) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null)

/** One irregular row as merge input (the same columns as regularSelect; group values as JSON text). */
export function irregularInput(row: JsonObject, okey: string, idx: number, ts: number | null, groups: string[]): unknown[] {
  const cs = parseTimestamp(row.capture_start_time) ?? null
  const ce = parseTimestamp(row.capture_end_time) ?? null
  const lo = cs ?? ts
  const hi = lo === null ? null : Math.max(ce ?? lo, lo)
  const dir = typeof row.direction === 'string' ? row.direction.toLowerCase() : ''
  const nicIp = dir === 'o' || dir === 'outbound' ? str(row.initiator_ip) : dir === 'i' || dir === 'inbound' ? str(row.target_ip) : null
  return [
    str(row.initiator_ip), int(row.initiator_port), str(row.target_ip), int(row.target_port), int(row.transport_protocol), str(row.action),
    ts, lo, hi, parseTimestamp(row.end_time) ?? ce ?? ts, typeof row.was_initiated === 'boolean' ? row.was_initiated : null,
    str(row.network_interface_id) ?? okey, nicIp,
    byteValue(row.bytes_from_initiator), byteValue(row.packets_from_initiator), byteValue(row.bytes_from_target), byteValue(row.packets_from_target),
    okey, idx,
    ...groups.flatMap((f) => [null, Object.hasOwn(row, f) && row[f] !== null ? JSON.stringify(row[f]) : null]),
  ]
}

let tableSeq = 0

/** Bytes of one record, both directions (a missing value: 0), as the merge counts them. */
const RECORD_BYTES_SQL = 'CAST(COALESCE(r.bytes_from_initiator, 0) AS DOUBLE) + CAST(COALESCE(r.bytes_from_target, 0) AS DOUBLE)'

/**
 * The records a query matches, in two parts (docs/architecture.md §7):
 * - singles: regular rows whose connection key no other row of the index has (the `dup` mark of the load). Each is a
 *   connection of its own and is counted with plain aggregates, straight from the table (`singles()`);
 * - the others, merged in SQL once, when the input is opened, into a temporary table read as `conn` (one row per
 *   record, with `cid`, the connection's id): regular rows that may share their key, and the irregular rows.
 * A regular row whose key an irregular or general row (records_odd) may share is merged too: those rows carry no
 * mark, so the regular rows with the same initiator and target address as one of them go with them.
 * Group field k is `g<k>` (typed, regular rows) / `gj<k>` (JSON text, irregular rows); NULL in both: missing.
 */
export class ConnectionInput {
  private constructor(
    readonly store: Store,
    private readonly spec: QuerySpec,
    private readonly groups: (FieldSpec | undefined)[],
    private readonly tables: {irregular?: string; oddKeys?: string; merged: string},
    private readonly dupBelow: number,
    private readonly allChecked: boolean,
  ) {}

  static async open(store: Store, spec: QuerySpec, groupFields: string[] = []): Promise<ConnectionInput> {
    const {irregular} = await store.totals()
    const seq = `${process.pid}_${++tableSeq}`
    const tables: {irregular?: string; oddKeys?: string; merged: string} = {merged: `conn_merged_${seq}`}
    const below = await store.dupBelow()
    const [top] = await store.all(`SELECT max(oid) AS m FROM records_data`)
    const input = new ConnectionInput(store, spec, groupFields.map((f) => ROW_FIELD_MAP.get(f)), tables, below, top.m === null || Number(top.m) < below)
    try {
      if (irregular > 0) {
        const table = (tables.irregular = `conn_irregular_${seq}`)
        const cols = [...IRREGULAR_COLUMNS, ...groupFields.flatMap((_f, k): [string, string][] => [[`g${k}`, 'VARCHAR'], [`gj${k}`, 'VARCHAR']])]
        await store.run(`CREATE OR REPLACE TEMP TABLE ${table} (${cols.map(([n, t]) => `${n} ${t}`).join(', ')})`)
        const batch: unknown[][] = []
        const flush = async () => {
          if (!batch.length) return
          const one = `(${cols.map(([, t]) => `CAST(? AS ${t})`).join(', ')})`
          await store.run(`INSERT INTO ${table} VALUES ${batch.map(() => one).join(', ')}`, batch.flat())
          batch.length = 0
        }
        const pending: unknown[][] = []
        await scanIrregular(store, spec, (row, ts, okey, idx) => {
          pending.push(irregularInput(row, okey, idx, ts, groupFields))
        })
        for (const p of pending) {
          batch.push(p)
          if (batch.length >= 100) await flush()
        }
        await flush()
      }
      const [odd] = await store.all(`SELECT count(*) AS n FROM records_odd`)
      if (tables.irregular || Number(odd.n) > 0) {
        const table = (tables.oddKeys = `conn_oddkeys_${seq}`)
        const general = regularRows(spec, 'r.initiator_ip AS ii, r.target_ip AS ti', {sql: 'r.dup IS NULL'})
        await store.run(
          `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT DISTINCT ii, ti FROM ${general.sql} t` +
            (tables.irregular ? ` UNION SELECT ii, ti FROM ${tables.irregular}` : ''),
          general.params,
        )
      }
      phase('connections: irregular and general rows')
      const {sql, params} = input.mergeSql()
      await store.run(`CREATE OR REPLACE TEMP TABLE ${tables.merged} AS ${sql}SELECT * FROM conn`, params)
      phase('connections: merge of the shared keys')
    } catch (error) {
      await input.close().catch(() => undefined)
      throw error
    }
    return input
  }

  async close(): Promise<void> {
    for (const t of [this.tables.irregular, this.tables.oddKeys, this.tables.merged]) if (t) await this.store.run(`DROP TABLE IF EXISTS ${t}`)
  }

  /** The typed column of group field k (undefined: a field no regular row holds). */
  groupColumn(k: number): FieldSpec | undefined {
    return this.groups[k]
  }

  /**
   * True for a regular row that is a connection of its own (NULL or false: it goes through the merge), on `table`
   * (regularRows). After a whole pull every records_data row is checked and then `dup` alone says it: a plain column
   * filter, which the scan applies before reading the other columns.
   */
  private singleSql(table: 'records_data' | 'records', single: boolean): string {
    const odd = this.tables.oddKeys
    if (table === 'records_data' && !odd && this.allChecked) return single ? 'NOT r.dup' : 'r.dup'
    const cond = `(${uniqueKeySql(this.dupBelow)}${odd ? ` AND NOT (r.initiator_ip IN (SELECT ii FROM ${odd}) AND r.target_ip IN (SELECT ti FROM ${odd}))` : ''})`
    return `${cond} ${single ? 'IS TRUE' : 'IS NOT TRUE'}`
  }

  /**
   * The single-record connections, as a subquery selecting `columns` over `r` (a records row); `action` restricts
   * to one action.
   */
  singles(columns: string, action?: string): {sql: string; params: unknown[]} {
    const and = action === undefined ? '' : ' AND r.action = ?'
    return regularRows(this.spec, columns, {sql: (table) => this.singleSql(table, true) + and, params: action === undefined ? [] : [action]})
  }

  /** Every record that is not a single, with its connection id (the WITH clause defining `conn`). */
  private mergeSql(): {sql: string; params: unknown[]} {
    // Each record with its object's capture window (w).
    // After a whole pull the shared-key rows are also in records_dup, a small copy: read it, not the whole table.
    const copy = !this.tables.oddKeys && this.allChecked
    const rows = regularRows(this.spec, (table) => regularSelect(this.groups, table), {
      sql: (table) => (copy && table === 'records_data' ? 'TRUE' : this.singleSql(table, false)),
      join: `JOIN ${OBJECTS_WITH_WINDOW} w ON w.oid = r.oid`,
      dataTable: copy ? 'records_dup' : undefined,
    })
    let input = rows.sql
    const params = [...rows.params]
    if (this.tables.irregular) {
      // Group columns take the regular rows' types (a VARCHAR NULL would turn their numbers into strings).
      const groupCols = this.groups.flatMap((g, k) => [g ? `CAST(g${k} AS ${g.sql}) AS g${k}` : `g${k}`, `gj${k}`])
      const cols = [...INPUT_COLUMNS.slice(0, -1).map(([n]) => n), 'hash(okey, idx) AS rid', ...groupCols].join(', ')
      input = `SELECT * FROM ${input} t UNION ALL SELECT ${cols} FROM ${this.tables.irregular}`
    } else input = `SELECT * FROM ${input} t`
    // A record lacking a key field or a time is alone: its own id joins its key. The key is hashed once (kh, 64
    // bits): partitions and joins on one integer are much cheaper than on six columns.
    const lone = `(ii IS NULL OR ipt IS NULL OR ti IS NULL OR tpt IS NULL OR pr IS NULL OR act IS NULL OR lo IS NULL)`
    // Ties (same window) need no order: the rows overlap whichever comes first.
    const window = `PARTITION BY kh ORDER BY lo, hi`
    const sql =
      `WITH input AS (${input}), ` +
      `keyed AS MATERIALIZED (SELECT *, hash(ii, ipt, ti, tpt, pr, act, CASE WHEN ${lone} THEN rid END) AS kh FROM input), ` +
      // Most keys have one record: only the others need the window functions.
      `multi AS (SELECT kh FROM keyed GROUP BY kh HAVING count(*) > 1), ` +
      `chained AS (SELECT *, max(hi) OVER (${window} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_hi FROM keyed SEMI JOIN multi USING (kh)), ` +
      `islands AS (SELECT *, sum(CASE WHEN prev_hi IS NULL OR lo > prev_hi OR (lo = prev_hi AND wi IS TRUE) THEN 1 ELSE 0 END) ` +
      `OVER (${window} ROWS UNBOUNDED PRECEDING) AS island FROM chained), ` +
      `conn AS (SELECT * EXCLUDE (prev_hi, island), hash(kh, island) AS cid FROM islands ` +
      `UNION ALL SELECT *, hash(kh, 1) AS cid FROM keyed ANTI JOIN multi USING (kh)) `
    return {sql, params}
  }

  /**
   * A WITH clause defining `conn`: the merged records (not the singles) of one action or all, with their connection
   * id `cid`. The action is part of the key, so restricting after the merge is the same as before it.
   */
  cte(action?: string): {sql: string; params: unknown[]} {
    return action === undefined
      ? {sql: `WITH conn AS (SELECT * FROM ${this.tables.merged}) `, params: []}
      : {sql: `WITH conn AS (SELECT * FROM ${this.tables.merged} WHERE act = ?) `, params: [action]}
  }
}

/** The line top and stats print on stderr when they merged records (docs/connections.md). */
export function mergedNote(merged: number, connections: number): string {
  const n = (x: number) => x.toLocaleString('en-US')
  // Short enough for 80 columns: `counting 359 connections, 49 copies merged (--raw: records)`.
  return `counting ${n(connections)} connection${connections === 1 ? '' : 's'}, ${n(merged)} ${merged === 1 ? 'copy' : 'copies'} merged (--raw: records)`
}

// ---------------------------------------------------------------------------------------------------------------
// Counting connections (top, stats)
// ---------------------------------------------------------------------------------------------------------------

export interface ConnectionGroupRow {
  value: JsonValue
  /** Connections with this value. */
  flows: number
  /** Their bytes (both directions), each connection's copies counted once. */
  bytes: number
}

export interface ConnectionGroups {
  /** One row per value (NULL value: the connections without the field). */
  rows: {value: JsonValue | undefined; flows: number; bytes: number}[]
  /** Connections (with or without the field). */
  connections: number
  /** Records merged into them. */
  records: number
}

/**
 * Connections per value of group field k (of those ConnectionInput.open was given). A connection whose records
 * carry several values (direction, network_interface_id, …) counts once under each; its bytes under a value are those
 * of its records with that value, each direction's largest interface total.
 */
export async function groupConnections(input: ConnectionInput, k: number, action?: string): Promise<ConnectionGroups> {
  const out: ConnectionGroups = {rows: [], connections: 0, records: 0}
  const column = input.groupColumn(k)
  const singles = input.singles(`${column ? `r."${column.name}"` : 'NULL'} AS g, ${RECORD_BYTES_SQL} AS b`, action)
  const counted = await input.store.all(`SELECT g AS v, count(*) AS flows, sum(b) AS bytes FROM ${singles.sql} t GROUP BY ALL`, singles.params)
  phase(`connections: group ${k}, singles`)
  for (const r of counted) {
    const flows = Number(r.flows)
    out.connections += flows
    out.records += flows
    out.rows.push({value: r.v === null ? undefined : plain(r.v), flows, bytes: r.bytes === null ? 0 : Number(r.bytes)})
  }
  const {sql, params} = input.cte(action)
  const rows = await input.store.all(
    sql +
      `, per_nic AS (SELECT cid, nic, g${k} AS g, gj${k} AS gj, sum(bi) AS bi, sum(bt) AS bt FROM conn GROUP BY ALL), ` +
      `per_conn AS (SELECT cid, g, gj, max(bi) + max(bt) AS bytes FROM per_nic GROUP BY ALL) ` +
      `SELECT g AS v, gj, count(*) AS flows, sum(bytes) AS bytes, NULL AS connections, NULL AS records FROM per_conn GROUP BY ALL ` +
      `UNION ALL SELECT NULL, NULL, NULL, NULL, count(DISTINCT cid), count(*) FROM conn`,
    params,
  )
  phase(`connections: group ${k}, merged`)
  for (const r of rows) {
    if (r.connections !== null) {
      out.connections += Number(r.connections)
      out.records += Number(r.records)
      continue
    }
    const value = r.gj !== null ? (JSON.parse(r.gj as string) as JsonValue) : r.v === null ? undefined : plain(r.v)
    out.rows.push({value, flows: Number(r.flows), bytes: r.bytes === null ? 0 : Number(r.bytes)})
  }
  return out
}

/**
 * Connections per bucket of their first record time, by action (stats): rows {b: bucket start or NULL when no record of
 * the connection has a time, a: accepted, rj: rejected, n: all}; a bucket may come in more than one row.
 */
export async function connectionBuckets(input: ConnectionInput, intervalMs: number): Promise<{b: number | null; a: number; rj: number; n: number; records: number}[]> {
  const bucketSql = (t: string) => `CAST(floor(${t} / CAST(? AS DOUBLE)) AS BIGINT) * ? AS b`
  const singles = input.singles('r.ts AS t, r.action AS act')
  const {sql, params} = input.cte()
  const counts = `count(*) FILTER (WHERE act = 'accepted') AS a, count(*) FILTER (WHERE act = 'rejected') AS rj, count(*) AS n`
  const rows = [
    ...(await input.store.all(`SELECT ${bucketSql('t')}, ${counts}, count(*) AS records FROM ${singles.sql} s GROUP BY 1`, [intervalMs, intervalMs, ...singles.params])),
    ...(await input.store.all(
      sql +
        `, firsts AS (SELECT any_value(act) AS act, min(ts) AS t, count(*) AS recs FROM conn GROUP BY cid) ` +
        `SELECT ${bucketSql('t')}, ${counts}, sum(recs) AS records FROM firsts GROUP BY 1`,
      [...params, intervalMs, intervalMs],
    )),
  ]
  return rows.map((r) => ({b: r.b === null ? null : Number(r.b), a: Number(r.a), rj: Number(r.rj), n: Number(r.n), records: Number(r.records)}))
}

/** Connections and the records merged into them (for the "merged" line of top and stats). */
export async function countConnections(input: ConnectionInput): Promise<{connections: number; records: number}> {
  const singles = input.singles('1 AS one')
  const [one] = await input.store.all(`SELECT count(*) AS n FROM ${singles.sql} s`, singles.params)
  const {sql, params} = input.cte()
  const [row] = await input.store.all(sql + `SELECT count(DISTINCT cid) AS c, count(*) AS n FROM conn`, params)
  return {connections: Number(one.n) + Number(row.c), records: Number(one.n) + Number(row.n)}
}

// ---------------------------------------------------------------------------------------------------------------
// Listing connections (flowlog connections)
// ---------------------------------------------------------------------------------------------------------------

export interface ConnectionInterface {
  /** network_interface_id (else the object key, when the record has none). */
  id: string
  /** The interface's own address in the connection (initiator for egress, target for ingress), when known. */
  ip: string | null
  records: number
}

export interface Connection {
  initiator_ip: string | null
  initiator_port: number | null
  target_ip: string | null
  target_port: number | null
  transport_protocol: number | null
  action: string | null
  /** First record time and last end time (end_time, else capture_end_time), ISO 8601 UTC; null when unknown. */
  first_time: string | null
  last_time: string | null
  bytes_from_initiator: number
  packets_from_initiator: number
  bytes_from_target: number
  packets_from_target: number
  /** The interfaces that logged it, by id. */
  interfaces: ConnectionInterface[]
  /** Records merged into this row. */
  records: number
}

export type ConnectionSort = 'time' | 'bytes' | 'packets' | 'records'

export interface ListConnectionsOptions extends QuerySpec {
  /** 0 or undefined: all. */
  limit?: number
  /** time: newest first (default); bytes, packets, records: largest first (then newest). */
  sort?: ConnectionSort
  /** time:asc: oldest first. */
  ascending?: boolean
}

export interface ConnectionList {
  connections: Connection[]
  /** Connections in all (before the limit). */
  total: number
  /** Records merged into them. */
  records: number
  /** records - total: the copies merged away. */
  merged: number
}

/** `--sort KEY[:asc|desc]` (UsageError → exit 2 for anything else). */
export function parseConnectionSort(text: string): {sort: ConnectionSort; ascending: boolean} {
  const m = /^(time|bytes|packets|records)(?::(asc|desc))?$/i.exec(text.trim())
  if (!m) {
    throw new UsageError(`--sort ${JSON.stringify(text)}: expected time, bytes, packets or records, optionally with :asc or :desc`, {
      suggestions: ['--sort time (newest first, the default), --sort time:asc (oldest first), --sort bytes (largest first)'],
    })
  }
  return {sort: m[1].toLowerCase() as ConnectionSort, ascending: m[2]?.toLowerCase() === 'asc'}
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace('.000Z', 'Z'))
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))

const SORT_SQL: Record<ConnectionSort, string> = {
  time: 'first_ts',
  bytes: 'bi + bt',
  packets: 'pi + pt',
  records: 'records',
}

/** `flowlog connections`: one row per connection (see the top of this file for the rule). */
export async function listConnections(store: Store, options: ListConnectionsOptions): Promise<ConnectionList> {
  const input = await ConnectionInput.open(store, options)
  try {
    const {sql, params} = input.cte()
    const sort = options.sort ?? 'time'
    const dir = options.ascending ? 'ASC' : 'DESC'
    const order = `${SORT_SQL[sort]} ${dir} NULLS LAST${sort === 'time' ? '' : `, first_ts ${dir} NULLS LAST`}, ii, ipt, ti, tpt, pr, act, cid`
    const limit = options.limit && options.limit > 0 ? ` LIMIT ${Math.floor(options.limit)}` : ''
    const keys = ['ii', 'ipt', 'ti', 'tpt', 'pr', 'act'].map((k) => `any_value(${k}) AS ${k}`).join(', ')
    const measures = ['bi', 'pi', 'bt', 'pt']
    // A single's id: its row (a merged connection's is hash(kh, island), another 64-bit value).
    const singles = input.singles(
      `hash(r.oid, r.idx) AS cid, r.oid, r.idx, r.initiator_ip AS ii, r.initiator_port AS ipt, r.target_ip AS ti, r.target_port AS tpt, ` +
        `r.transport_protocol AS pr, r.action AS act, r.ts AS first_ts, ` +
        `${['initiator', 'target'].flatMap((side) => ['bytes', 'packets'].map((m) => `CAST(COALESCE(r.${m}_from_${side}, 0) AS DOUBLE) AS ${m[0]}${side[0]}`)).join(', ')}`,
    )
    const [single] = await store.all(`SELECT count(*) AS n FROM ${singles.sql} s`, singles.params)
    const [merged] = await store.all(sql + `SELECT count(DISTINCT cid) AS c, count(*) AS n FROM conn`, params)
    const total = Number(single.n) + Number(merged.c)
    const records = Number(single.n) + Number(merged.n)
    const rows = await store.all(
      sql +
        `, per_nic AS MATERIALIZED (SELECT cid, nic, any_value(nic_ip) AS nic_ip, count(*) AS n, sum(bi) AS bi, sum(pi) AS pi, sum(bt) AS bt, sum(pt) AS pt, ` +
        `min(ts) AS first_ts, max(te) AS last_ts, ${keys} FROM conn GROUP BY cid, nic), ` +
        `per_conn AS (SELECT cid, ${keys}, min(first_ts) AS first_ts, max(last_ts) AS last_ts, max(bi) AS bi, max(pi) AS pi, max(bt) AS bt, max(pt) AS pt, ` +
        `sum(n) AS records FROM per_nic GROUP BY cid), ` +
        `every AS (SELECT cid, CAST(NULL AS BIGINT) AS oid, CAST(NULL AS INTEGER) AS idx, ii, ipt, ti, tpt, pr, act, first_ts, last_ts, ${measures.join(', ')}, records FROM per_conn ` +
        `UNION ALL SELECT cid, oid, idx, ii, ipt, ti, tpt, pr, act, first_ts, NULL, ${measures.join(', ')}, 1 FROM ${singles.sql} s), ` +
        `page AS (SELECT * FROM every ORDER BY ${order}${limit}), ` +
        // The interfaces are listed for the page only.
        `nics AS (SELECT cid, to_json(list({'id': nic, 'ip': nic_ip, 'records': n} ORDER BY nic)) AS nics FROM per_nic SEMI JOIN page USING (cid) GROUP BY cid) ` +
        `SELECT page.*, nics.nics FROM page LEFT JOIN nics USING (cid) ORDER BY ${order}`,
      [...params, ...singles.params],
    )
    const details = await singleDetails(store, rows.filter((r) => r.oid !== null))
    const connections = rows.map((r): Connection => {
      const own = r.oid === null ? undefined : details.get(`${Number(r.oid)}:${Number(r.idx)}`)
      return {
        initiator_ip: r.ii as string | null,
        initiator_port: num(r.ipt),
        target_ip: r.ti as string | null,
        target_port: num(r.tpt),
        transport_protocol: num(r.pr),
        action: r.act as string | null,
        first_time: iso(num(r.first_ts)),
        last_time: iso(own ? own.last : num(r.last_ts)),
        bytes_from_initiator: Number(r.bi),
        packets_from_initiator: Number(r.pi),
        bytes_from_target: Number(r.bt),
        packets_from_target: Number(r.pt),
        interfaces: own
          ? [{id: own.nic, ip: own.ip, records: 1}]
          : (JSON.parse(String(r.nics)) as {id: string; ip: string | null; records: number}[]).map((n) => ({id: n.id, ip: n.ip, records: Number(n.records)})),
        records: Number(r.records),
      }
    })
    return {connections, total, records, merged: records - total}
  } finally {
    await input.close()
  }
}

/** The last time and the interface of single-record connections (the page's), by `oid:idx`. */
async function singleDetails(store: Store, rows: {oid?: unknown; idx?: unknown}[]): Promise<Map<string, {last: number | null; nic: string; ip: string | null}>> {
  const out = new Map<string, {last: number | null; nic: string; ip: string | null}>()
  if (rows.length === 0) return out
  const wanted = new Set(rows.map((r) => `${Number(r.oid)}:${Number(r.idx)}`))
  // Integers only (ids read back from the index), so they go into the text: the scan then skips other objects.
  const oids = [...new Set(rows.map((r) => Math.trunc(Number(r.oid))))]
  const ce = `COALESCE(w.ce, ${epochOf('r.capture_end_time')})`
  const found = await store.all(
    `SELECT r.oid, r.idx, COALESCE(${epochOf('r.end_time')}, ${ce}, r.ts) AS te, COALESCE(r.network_interface_id, w.key) AS nic, ${nicIpSql} AS ip ` +
      `FROM records r JOIN ${OBJECTS_WITH_WINDOW} w ON w.oid = r.oid WHERE r.oid IN (${oids.join(', ')})`,
  )
  for (const f of found) {
    const key = `${Number(f.oid)}:${Number(f.idx)}`
    if (wanted.has(key)) out.set(key, {last: num(f.te), nic: String(f.nic), ip: (f.ip as string | null) ?? null})
  }
  return out
}
