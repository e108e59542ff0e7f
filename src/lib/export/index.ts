import {resolve} from 'node:path'

import type {Home} from '../config/home.js'
import {UsageError} from '../errors.js'
import {openStore} from '../store/store.js'
import {type ExportOptions, type ExportSummary, exportParquet} from './parquet.js'

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
