import {createHash} from 'node:crypto'
import {closeSync, openSync, readFileSync, readSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {isRetryableCosError, mapCosError} from '../cos/client.js'
import {withRetry} from '../cos/retry.js'
import {UsageError} from '../errors.js'

/**
 * Upload of a staged Parquet tree to cos://BUCKET/PREFIX (docs/lakehouse.md §5). Resumable at two levels:
 * - a file whose key is already in the bucket with the same size and ETag (MD5, or the multipart ETag computed from
 *   the local bytes and the part size) is skipped;
 * - a multipart upload records its upload id and finished parts in the staging state after every part, so a re-run
 *   sends only the parts that are missing (an upload id the server no longer knows starts that file again).
 * After every file is there, keys of the layout (`date=…/hour=…/part-N.parquet`) under the prefix that this export did
 * not write are deleted, then the manifest `PREFIX/_flowlog_export.json` is written (engines skip `_` files).
 */
export interface UploadClient {
  listPage(params: {prefix: string; continuationToken?: string}, signal?: AbortSignal): Promise<{objects: {key: string; etag?: string; size?: number}[]; nextToken?: string}>
  putObject(key: string, body: Buffer, contentType?: string, signal?: AbortSignal): Promise<void>
  createMultipartUpload(key: string, contentType?: string, signal?: AbortSignal): Promise<string>
  uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, signal?: AbortSignal): Promise<string>
  completeMultipartUpload(key: string, uploadId: string, parts: {partNumber: number; etag: string}[], signal?: AbortSignal): Promise<void>
  abortMultipartUpload(key: string, uploadId: string, signal?: AbortSignal): Promise<void>
  deleteObjects(keys: string[], signal?: AbortSignal): Promise<void>
}

export interface StagedFile {
  /** Relative path, date=…/hour=…/part-N.parquet */
  path: string
  bytes: number
}

export interface UploadState {
  /** path → the multipart upload in progress. */
  uploads: Record<string, {uploadId: string; partSize: number; parts: {partNumber: number; etag: string}[]}>
}

export interface UploadOptions {
  bucket: string
  /** Key prefix, '' or ending in '/'. */
  prefix: string
  /** Files above this size go multipart (default 16 MiB). */
  multipartThreshold?: number
  /** Part size (default 8 MiB; COS needs at least 5 MiB for every part but the last). */
  partSize?: number
  /** Where the resumable state is kept (a JSON file, rewritten after every part). */
  statePath: string
  /** The manifest's content (files, rows, …): written last. */
  manifest: Record<string, unknown>
  maxAttempts?: number
  baseDelayMs?: number
  signal?: AbortSignal
  onProgress?: (p: UploadProgress) => void
}

export interface UploadProgress {
  file: string
  done: number
  total: number
  uploadedBytes: number
  skipped: boolean
}

export interface UploadSummary {
  uploaded: number
  skipped: number
  deleted: number
  uploadedBytes: number
  /** Parts sent in this run (multipart files). */
  parts: number
}

export const MANIFEST_NAME = '_flowlog_export.json'
const LAYOUT = /(^|\/)date=\d{4}-\d\d-\d\d\/hour=\d\d\/part-\d+\.parquet$/
const MIB = 1024 * 1024

function readState(path: string): UploadState {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as UploadState
    return s && typeof s.uploads === 'object' ? s : {uploads: {}}
  } catch {
    return {uploads: {}}
  }
}

function writeState(path: string, state: UploadState): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(state))
  renameSync(`${path}.tmp`, path)
}

function readChunk(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

/** The ETag COS gives the file: MD5 of the bytes, or for multipart md5(md5(part1)…md5(partN))-N. */
export function expectedEtag(path: string, size: number, multipart: boolean, partSize: number): string {
  const fd = openSync(path, 'r')
  try {
    if (!multipart) return createHash('md5').update(readChunk(fd, 0, size)).digest('hex')
    const md5s: Buffer[] = []
    for (let off = 0; off < size; off += partSize) md5s.push(createHash('md5').update(readChunk(fd, off, Math.min(partSize, size - off))).digest())
    return `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}`
  } finally {
    closeSync(fd)
  }
}

export function parseCosOut(out: string): {bucket: string; prefix: string} {
  const m = /^cos:\/\/([^/]+)\/?(.*)$/.exec(out)
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) throw new UsageError(`--out ${JSON.stringify(out)} is not cos://BUCKET[/PREFIX]`)
  const prefix = m[2].replace(/^\/+|\/+$/g, '')
  return {bucket: m[1], prefix: prefix ? `${prefix}/` : ''}
}

export async function uploadTree(client: UploadClient, dir: string, files: StagedFile[], o: UploadOptions): Promise<UploadSummary> {
  const threshold = o.multipartThreshold ?? 16 * MIB
  const partSize = Math.max(o.partSize ?? 8 * MIB, 1)
  const retry = <T>(fn: () => Promise<T>) =>
    withRetry(fn, {maxAttempts: o.maxAttempts ?? 4, baseDelayMs: o.baseDelayMs ?? 250, retryable: isRetryableCosError, signal: o.signal})
  const ctx = (operation: 'list' | 'put', key?: string) => ({endpoint: '', bucket: o.bucket, key, operation, authKind: 'hmac' as const})
  const call = async <T>(operation: 'list' | 'put', key: string | undefined, fn: () => Promise<T>): Promise<T> => {
    try {
      return await retry(fn)
    } catch (error) {
      if (o.signal?.aborted) throw o.signal.reason ?? error
      throw mapCosError(error, ctx(operation, key))
    }
  }

  // What the prefix holds already.
  const remote = new Map<string, {etag?: string; size?: number}>()
  let token: string | undefined
  do {
    const page = await call('list', undefined, () => client.listPage({prefix: o.prefix, continuationToken: token}, o.signal))
    for (const x of page.objects) remote.set(x.key, {etag: x.etag, size: x.size})
    token = page.nextToken
  } while (token)

  const state = readState(o.statePath)
  const summary: UploadSummary = {uploaded: 0, skipped: 0, deleted: 0, uploadedBytes: 0, parts: 0}
  for (const [i, f] of files.entries()) {
    const key = o.prefix + f.path
    const local = join(dir, f.path)
    const multipart = f.bytes > threshold
    const have = remote.get(key)
    const progress = (skipped: boolean) => o.onProgress?.({file: f.path, done: i + 1, total: files.length, uploadedBytes: summary.uploadedBytes, skipped})
    // The remote ETag's shape says how it was made: `…-N` multipart (COS), otherwise the MD5 of the bytes (a single
    // PUT, or a server that gives whole-object MD5s for multipart too, like s3rver).
    const etag = have?.etag?.toLowerCase()
    if (have && etag && have.size === f.bytes && etag === expectedEtag(local, f.bytes, /-\d+$/.test(etag), partSize)) {
      summary.skipped++
      delete state.uploads[f.path]
      progress(true)
      continue
    }
    if (!multipart) {
      const body = readFileSync(local)
      await call('put', key, () => client.putObject(key, body, 'application/vnd.apache.parquet', o.signal))
      summary.uploadedBytes += body.length
    } else {
      let up: UploadState['uploads'][string] | undefined = state.uploads[f.path]
      if (up && up.partSize !== partSize) up = undefined
      for (let attempt = 0; ; attempt++) {
        if (!up) {
          const uploadId = await call('put', key, () => client.createMultipartUpload(key, 'application/vnd.apache.parquet', o.signal))
          up = state.uploads[f.path] = {uploadId, partSize, parts: []}
          writeState(o.statePath, state)
        }
        const u = up
        try {
          const count = Math.ceil(f.bytes / partSize)
          const fd = openSync(local, 'r')
          try {
            for (let n = 1; n <= count; n++) {
              if (u.parts.some((p) => p.partNumber === n)) continue
              const body = readChunk(fd, (n - 1) * partSize, Math.min(partSize, f.bytes - (n - 1) * partSize))
              const etag = await retry(() => client.uploadPart(key, u.uploadId, n, body, o.signal))
              u.parts.push({partNumber: n, etag})
              writeState(o.statePath, state)
              summary.parts++
              summary.uploadedBytes += body.length
            }
          } finally {
            closeSync(fd)
          }
          const parts = [...u.parts].sort((a, b) => a.partNumber - b.partNumber)
          await retry(() => client.completeMultipartUpload(key, u.uploadId, parts, o.signal))
          break
        } catch (error) {
          // The server forgot the upload (aborted, expired): start this file again, once.
          const code = (error as {code?: string})?.code
          if (code === 'NoSuchUpload' && attempt === 0) {
            delete state.uploads[f.path]
            up = undefined
            continue
          }
          if (o.signal?.aborted) throw o.signal.reason ?? error
          throw mapCosError(error, ctx('put', key))
        }
      }
      delete state.uploads[f.path]
      writeState(o.statePath, state)
    }
    summary.uploaded++
    progress(false)
  }

  // Leftovers of an earlier export under the prefix would be read as part of the table.
  const mine = new Set(files.map((f) => o.prefix + f.path))
  const stale = [...remote.keys()].filter((k) => !mine.has(k) && LAYOUT.test(k.slice(o.prefix.length)))
  if (stale.length) await call('put', undefined, () => client.deleteObjects(stale, o.signal))
  summary.deleted = stale.length
  const manifestKey = o.prefix + MANIFEST_NAME
  const manifest = Buffer.from(JSON.stringify({...o.manifest, files: files.map((f) => ({key: o.prefix + f.path, bytes: f.bytes}))}, null, 2))
  await call('put', manifestKey, () => client.putObject(manifestKey, manifest, 'application/json', o.signal))
  return summary
}
