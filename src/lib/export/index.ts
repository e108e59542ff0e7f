import {resolve} from 'node:path'

import type {Home} from '../config/home.js'
import {UsageError} from '../errors.js'
import {parseWindow} from '../records/time.js'
import {openStore} from '../store/store.js'
import {type ExportOptions, type ExportSummary, exportParquet} from './parquet.js'
import {ddl} from './sql.js'

export {LAKE_DIALECTS, type LakeDialectName} from './dialects.js'
export {type ExportSummary, exportParquet, exportSelect} from './parquet.js'
export {DEFAULT_TABLE, checkDialect, ddl, lakeSql} from './sql.js'

/** `flowlog export --out DIR` (docs/lakehouse.md §2): open the index read-only, write the Parquet tree. */
export async function exportIndex(home: Home, out: string, options: ExportOptions = {}): Promise<ExportSummary> {
  if (/^[a-z0-9]+:\/\//i.test(out)) {
    throw new UsageError(`--out ${out}: only a local folder is supported for now; upload the folder (e.g. with \`ibmcloud cos upload\`) to the prefix`)
  }
  const store = await openStore(home, {readOnly: true})
  try {
    return await exportParquet(store, resolve(out), options)
  } finally {
    await store.close()
  }
}

export interface ExportResult {
  files: number
  rows: number
  bytes: number
  out: string
  skippedIrregular: number
}

/** `flowlog export` from its flags: --ddl prints a CREATE TABLE, otherwise the selected records are written as Parquet. */
export async function exportFromFlags(
  home: Home,
  flags: {query: string; out?: string; ddl?: string; table: string; since?: string; until?: string},
  onStart?: (out: string) => void,
): Promise<ExportResult | {ddl: string}> {
  if (!flags.out) throw new UsageError('--out is required', {suggestions: ['flowlog export --out ./flow-parquet']})
  if (flags.ddl) return {ddl: ddl({dialect: flags.ddl as 'presto' | 'spark', location: flags.out, table: flags.table})}
  const window = parseWindow(flags)
  onStart?.(flags.out)
  const s = await exportIndex(home, flags.out, {query: flags.query, window})
  return {files: s.files, rows: s.rows, bytes: s.bytes, out: s.out, skippedIrregular: s.skippedIrregular}
}
