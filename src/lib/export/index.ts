import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import type {Home} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {parseWindow} from '../records/time.js'
import type {CosEndpointType} from '../cos/config.js'
import {openStore} from '../store/store.js'
import {type ExportOptions, type ExportProgress, type ExportSummary, exportParquet} from './parquet.js'
import {ddl} from './sql.js'
import {type UploadClient, type UploadProgress, type UploadSummary, parseCosOut, uploadTree} from './upload.js'

export {LAKE_DIALECTS, type LakeDialectName} from './dialects.js'
export {type ExportProgress, type ExportSummary, exportParquet, exportSelect} from './parquet.js'
export {DEFAULT_TABLE, checkDialect, ddl, lakeSql} from './sql.js'
export {MANIFEST_NAME, type UploadProgress, parseCosOut, uploadTree} from './upload.js'

export interface CosOutOptions {
  endpoint?: string
  region?: string
  endpointType?: CosEndpointType
  env?: NodeJS.ProcessEnv
  /** Tests: a client instead of ibm-cos-sdk. */
  client?: UploadClient
  multipartThreshold?: number
  partSize?: number
  maxAttempts?: number
  baseDelayMs?: number
  signal?: AbortSignal
}

export interface ExportRunOptions extends ExportOptions {
  cos?: CosOutOptions
  onExport?: (p: ExportProgress) => void
  onUpload?: (p: UploadProgress) => void
}

export interface ExportRun extends ExportSummary {
  /** Set for --out cos://: what this run sent and what was there already. */
  upload?: UploadSummary & {reusedStaging: boolean}
}

/** `flowlog export --out DIR|cos://BUCKET/PREFIX` (docs/lakehouse.md §2, §5). */
export async function exportIndex(home: Home, out: string, options: ExportRunOptions = {}): Promise<ExportRun> {
  if (out.startsWith('cos://')) return exportToCos(home, out, options)
  const store = await openStore(home, {readOnly: true})
  try {
    return await exportParquet(store, resolve(out), options, options.onExport)
  } finally {
    await store.close()
  }
}

interface StagingMeta {
  fingerprint: string
  summary: ExportSummary
}

/**
 * --out cos:// (docs/lakehouse.md §5): the Parquet tree is staged under the cache (one folder per destination), then
 * uploaded. The staging stays until the upload finishes: a re-run for the same destination, query, window and index
 * reuses it (same bytes, so what reached the bucket is skipped and a multipart upload resumes at its next part).
 */
async function exportToCos(home: Home, out: string, options: ExportRunOptions): Promise<ExportRun> {
  const {bucket, prefix} = parseCosOut(out)
  const staging = join(home.cacheDir, 'export', createHash('sha256').update(out).digest('hex').slice(0, 16))
  const tree = join(staging, 'tree')
  const metaPath = join(staging, 'meta.json')
  const store = await openStore(home, {readOnly: true})
  let summary: ExportSummary
  let reusedStaging = false
  let fingerprint: string
  try {
    const idx = (await store.connection.runAndReadAll(`SELECT count(*)::BIGINT AS n, max(loaded_at)::BIGINT AS l, sum(records)::BIGINT AS r FROM objects`)).getRowObjects()[0]
    fingerprint = createHash('sha256')
      .update(JSON.stringify({out, query: options.query ?? '', window: options.window ?? {}, envelope: options.envelope ?? {}, idx: [String(idx.n), String(idx.l), String(idx.r)], rows: options.maxRowsPerFile ?? null}))
      .digest('hex')
    const meta = existsSync(metaPath) ? (JSON.parse(readFileSync(metaPath, 'utf8')) as StagingMeta) : undefined
    if (meta?.fingerprint === fingerprint && meta.summary.list.every((f) => existsSync(join(tree, f.path)))) {
      summary = {...meta.summary, out: tree}
      reusedStaging = true
    } else {
      rmSync(staging, {recursive: true, force: true})
      mkdirSync(staging, {recursive: true})
      summary = await exportParquet(store, tree, options, options.onExport)
      writeFileSync(metaPath, JSON.stringify({fingerprint, summary} satisfies StagingMeta))
    }
  } finally {
    await store.close()
  }
  const cos = options.cos ?? {}
  let client = cos.client
  let close = () => {}
  if (!client) {
    const {resolveCosConnection} = await import('../cos/config.js')
    const {SdkCosClient} = await import('../cos/client.js')
    const connection = resolveCosConnection({env: cos.env ?? process.env, config: await readConfig(home), endpoint: cos.endpoint, region: cos.region, endpointType: cos.endpointType})
    const sdk = new SdkCosClient(connection, {bucket, requestTimeoutMs: 120_000})
    client = sdk
    close = () => sdk.close()
  }
  try {
    const up = await uploadTree(client, tree, summary.list, {
      bucket,
      prefix,
      statePath: join(staging, 'upload-state.json'),
      multipartThreshold: cos.multipartThreshold,
      partSize: cos.partSize,
      maxAttempts: cos.maxAttempts,
      baseDelayMs: cos.baseDelayMs,
      signal: cos.signal,
      onProgress: options.onUpload,
      manifest: {tool: 'flowlog export', rows: summary.rows, bytes: summary.bytes, query: options.query ?? '', window: options.window ?? {}, fingerprint, written: new Date().toISOString()},
    })
    rmSync(staging, {recursive: true, force: true})
    return {...summary, out, upload: {...up, reusedStaging}}
  } finally {
    close()
  }
}

/** What `flowlog export` returns (and prints with --json). */
export interface ExportResult {
  files: number
  rows: number
  bytes: number
  out: string
  skippedIrregular: number
  /** --out cos://: files sent by this run, files already in the bucket, stale layout files deleted. */
  uploaded?: number
  skipped?: number
  deleted?: number
  uploadedBytes?: number
}

export interface ExportFlags {
  query: string
  out?: string
  ddl?: string
  table: string
  since?: string
  until?: string
  'cos-endpoint'?: string
  region?: string
  'endpoint-type'?: string
}

export interface ExportCallbacks {
  onStart?: (out: string) => void
  onExport?: (p: ExportProgress) => void
  onUpload?: (p: UploadProgress) => void
}

/** `flowlog export` from its flags: --ddl prints a CREATE TABLE, otherwise the selected records are written as Parquet. */
export async function exportFromFlags(home: Home, flags: ExportFlags, callbacks: ExportCallbacks = {}): Promise<ExportResult | {ddl: string}> {
  if (!flags.out) throw new UsageError('--out is required', {suggestions: ['flowlog export --out ./flow-parquet']})
  if (flags.ddl) return {ddl: ddl({dialect: flags.ddl as 'presto' | 'spark', location: flags.out, table: flags.table})}
  const window = parseWindow(flags)
  callbacks.onStart?.(flags.out)
  const s = await exportIndex(home, flags.out, {
    query: flags.query,
    window,
    cos: {endpoint: flags['cos-endpoint'], region: flags.region, endpointType: flags['endpoint-type'] as CosEndpointType | undefined},
    onExport: callbacks.onExport,
    onUpload: callbacks.onUpload,
  })
  const base = {files: s.files, rows: s.rows, bytes: s.bytes, out: s.out, skippedIrregular: s.skippedIrregular}
  const u = s.upload
  return u ? {...base, uploaded: u.uploaded, skipped: u.skipped, deleted: u.deleted, uploadedBytes: u.uploadedBytes} : base
}
