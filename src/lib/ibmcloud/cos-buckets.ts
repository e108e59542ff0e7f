/**
 * Bucket administration for setup, teardown and doctor through the COS S3 API (ibm-cos-sdk): create a regional
 * bucket, head it, read its location, find the newest flow-log object, empty and delete it. COS failures are turned
 * into the shape of an SDK HTTP error and mapped by the one mapper in http.ts.
 */
import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'

import S3 from 'ibm-cos-sdk/clients/s3.js'

import {needsPathStyle} from '../cos/config.js'
import {FlowlogError} from '../errors.js'
import {mapHttpError, mapIamError} from './http.js'

export type CosAuthOptions =
  | {kind: 'iam'; apiKey: string; instanceId?: string; tokenUrl: string}
  | {kind: 'hmac'; accessKeyId: string; secretAccessKey: string}

export interface BucketAdminOptions {
  endpoint: string
  auth: CosAuthOptions
  timeoutMs?: number
  /** SDK retries of 5xx/throttling/network errors (default 3). */
  maxRetries?: number
}

export type BucketPresence = 'mine' | 'missing' | 'forbidden'

interface S3Error {
  code?: string
  statusCode?: number
  message?: string
  originalError?: S3Error
}

export class BucketAdmin {
  readonly endpoint: string
  private readonly s3: S3
  private readonly agent: HttpAgent | HttpsAgent
  private readonly authKind: 'iam' | 'hmac'

  constructor(options: BucketAdminOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '')
    const https = this.endpoint.startsWith('https:')
    this.agent = https ? new HttpsAgent({keepAlive: true}) : new HttpAgent({keepAlive: true})
    this.authKind = options.auth.kind
    const common: S3.Types.ClientConfiguration = {
      endpoint: this.endpoint,
      s3ForcePathStyle: needsPathStyle(this.endpoint),
      sslEnabled: https,
      maxRetries: options.maxRetries ?? 3,
      httpOptions: {agent: this.agent, timeout: options.timeoutMs ?? 60_000, connectTimeout: 10_000},
    }
    this.s3 =
      options.auth.kind === 'hmac'
        ? new S3({...common, accessKeyId: options.auth.accessKeyId, secretAccessKey: options.auth.secretAccessKey, signatureVersion: 'v4'})
        : new S3({...common, apiKeyId: options.auth.apiKey, serviceInstanceId: options.auth.instanceId, ibmAuthEndpoint: options.auth.tokenUrl})
  }

  close(): void {
    this.agent.destroy()
  }

  private async run<T>(method: string, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw this.mapError(error, method, path)
    }
  }

  mapError(error: unknown, method: string, path: string): Error {
    if (error instanceof FlowlogError) return error
    const e = (error ?? {}) as S3Error
    // ibm-cos-sdk surfaces IAM token failures as CredentialsError with the token service's status inside.
    if (this.authKind === 'iam' && (e.code === 'CredentialsError' || /token/i.test(e.originalError?.message ?? ''))) {
      const inner = e.originalError ?? e
      return mapIamError({status: inner.statusCode ?? (inner.code === 'CredentialsError' ? 400 : undefined), message: inner.message}, undefined)
    }
    if (typeof e.statusCode !== 'number') return mapHttpError({message: e.message ?? e.code ?? String(error)}, {service: 'COS', method, path, serviceUrl: this.endpoint})
    return mapHttpError(
      {status: e.statusCode, message: `${e.code ?? 'Error'}: ${e.message ?? ''}`, result: {errors: [{code: e.code ?? `http_${e.statusCode}`, message: e.message ?? e.code ?? ''}]}},
      {service: 'COS', method, path, serviceUrl: this.endpoint},
    )
  }

  /** 200 → mine; 404 → missing; 403 → forbidden (someone else's, or no access). */
  async headBucket(bucket: string): Promise<BucketPresence> {
    try {
      await this.s3.headBucket({Bucket: bucket}).promise()
      return 'mine'
    } catch (error) {
      const e = error as S3Error
      if (e.statusCode === 404 || e.code === 'NotFound' || e.code === 'NoSuchBucket') return 'missing'
      if (e.statusCode === 403 || e.code === 'Forbidden' || e.code === 'AccessDenied') return 'forbidden'
      throw this.mapError(error, 'HEAD', `/${bucket}`)
    }
  }

  /**
   * Create a bucket with `LocationConstraint` (e.g. `us-south-standard`). Returns `created`, `owned` (409
   * BucketAlreadyOwnedByYou) or `taken` (409 BucketAlreadyExists, someone else's).
   */
  async createBucket(bucket: string, locationConstraint: string): Promise<'created' | 'owned' | 'taken'> {
    try {
      await this.s3.createBucket({Bucket: bucket, CreateBucketConfiguration: {LocationConstraint: locationConstraint}}).promise()
      return 'created'
    } catch (error) {
      const e = error as S3Error
      if (e.code === 'BucketAlreadyOwnedByYou') return 'owned'
      if (e.code === 'BucketAlreadyExists' || e.statusCode === 409) return 'taken'
      throw this.mapError(error, 'PUT', `/${bucket}`)
    }
  }

  /** The bucket's LocationConstraint (`us-south-standard`, …), or undefined when the server does not say. */
  async bucketLocation(bucket: string): Promise<string | undefined> {
    const out = await this.run('GET', `/${bucket}?location`, () => this.s3.getBucketLocation({Bucket: bucket}).promise())
    return typeof out?.LocationConstraint === 'string' && out.LocationConstraint !== '' ? out.LocationConstraint : undefined
  }

  /**
   * The newest object under `prefix` among the first `maxKeys` listed (flow-log keys sort by time only within one
   * record-type prefix, so this is a sample, good enough to tell "objects are arriving").
   */
  async newestObject(bucket: string, prefix: string, maxKeys = 5000): Promise<{key: string; lastModified: Date; count: number} | undefined> {
    let token: string | undefined
    let newest: {key: string; lastModified: Date} | undefined
    let count = 0
    while (count < maxKeys) {
      const out = await this.run('GET', `/${bucket}`, () =>
        this.s3.listObjectsV2({Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: Math.min(1000, maxKeys - count)}).promise(),
      )
      for (const c of out.Contents ?? []) {
        count += 1
        if (c.Key && c.LastModified && (!newest || c.LastModified > newest.lastModified)) newest = {key: c.Key, lastModified: c.LastModified}
      }
      if (!out.IsTruncated || !out.NextContinuationToken) break
      token = out.NextContinuationToken
    }
    return newest ? {...newest, count} : undefined
  }

  /** Delete every object (batches of 1000), then the bucket. False when the bucket was already gone. */
  async emptyAndDelete(bucket: string): Promise<{deleted: boolean; objects: number}> {
    let objects = 0
    for (;;) {
      let out: S3.ListObjectsV2Output
      try {
        out = await this.s3.listObjectsV2({Bucket: bucket, MaxKeys: 1000}).promise()
      } catch (error) {
        const e = error as S3Error
        if (e.statusCode === 404 || e.code === 'NoSuchBucket') return {deleted: false, objects}
        throw this.mapError(error, 'GET', `/${bucket}`)
      }
      const keys = (out.Contents ?? []).map((c) => ({Key: c.Key!})).filter((k) => k.Key !== undefined)
      if (keys.length === 0) break
      await this.run('POST', `/${bucket}?delete`, () => this.s3.deleteObjects({Bucket: bucket, Delete: {Objects: keys, Quiet: true}}).promise())
      objects += keys.length
    }
    try {
      await this.s3.deleteBucket({Bucket: bucket}).promise()
      return {deleted: true, objects}
    } catch (error) {
      const e = error as S3Error
      if (e.statusCode === 404 || e.code === 'NoSuchBucket') return {deleted: false, objects}
      throw this.mapError(error, 'DELETE', `/${bucket}`)
    }
  }
}
