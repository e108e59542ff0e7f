import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import S3 from 'ibm-cos-sdk/clients/s3.js'

import {type Home, resolveHome} from '../../src/lib/config/home.js'
import type {SourceObject} from '../../src/lib/sources/types.js'
import type {CosServer} from '../servers/cos-server.js'
import type {GeneratedObject} from './fixtures.js'

export function hmacS3(url: string, accessKeyId: string, secretAccessKey: string): S3 {
  return new S3({endpoint: url, s3ForcePathStyle: true, accessKeyId, secretAccessKey, signatureVersion: 'v4', maxRetries: 0})
}

export function iamS3(url: string, apiKeyId: string, tokenUrl: string, serviceInstanceId = 'instance-guid'): S3 {
  return new S3({endpoint: url, s3ForcePathStyle: true, apiKeyId, ibmAuthEndpoint: tokenUrl, serviceInstanceId, maxRetries: 0})
}

export function tempFlowlogHome(): {home: Home; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), 'flowlog-cos-'))
  return {home: resolveHome({env: {FLOWLOG_HOME: dir}}), cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** Seed generated objects straight into the test server's store, with a realistic LastModified. */
export function seed(server: CosServer, bucket: string, objects: GeneratedObject[]): void {
  server.createBucket(bucket)
  for (const o of objects) {
    server.putObject(bucket, o.key, o.body, {metadata: o.metadata, contentType: 'application/octet-stream', lastModified: new Date(o.written)})
  }
}

export async function collect(it: AsyncIterable<SourceObject>): Promise<SourceObject[]> {
  const out: SourceObject[] = []
  for await (const o of it) out.push(o)
  return out
}

/** Run `fn` over items, `limit` at a time. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}
