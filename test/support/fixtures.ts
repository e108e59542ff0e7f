/**
 * Shared fixture builders: v1 keys, flow-log objects and records (docs/flow-log-format.md §2–§3), gzip, bucket-like
 * folders in temp dirs, and the real samples. Values are realistic (the IBM blog's vsi1) unless overridden.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {gzipSync} from 'node:zlib'

import type {Home} from '../../src/lib/config/home.js'
import {resolveHome} from '../../src/lib/config/home.js'
import {buildV1Key} from '../../src/lib/records/key.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {SAMPLES} from './cli.js'

export const ACCOUNT = '713c783d9a507a53135fe6793c37cc74'
export const REGION = 'us-south'
const crn = (location: string, type: string, id: string) => `crn:v1:bluemix:public:is:${location}:a/${ACCOUNT}::${type}:${id}`
export const VPC_CRN = crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6')
export const SUBNET_CRN = crn('us-south-1', 'subnet', '0717-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb')
export const INSTANCE_CRN = crn('us-south-1', 'instance', '0717_2c984e95-b391-4a09-8e92-80feada442a3')
export const COLLECTOR_CRN = crn('us-south', 'flow-log-collector', 'r006-7fdc00bc-e7ff-4de2-b040-da5b024f298c')
export const VNIC_ID = '0717-83c09614-8ba2-4911-bada-66cb04f004f5'
export const VSI_IP = '10.240.0.4'

/** The sample files (docs/flow-log-format.md, test/fixtures/samples/README.md). */
export const SAMPLE = {
  twoRecords: join(SAMPLES, 'object-2records-empty-times.json'),
  emptyV0: join(SAMPLES, 'object-empty-with-v0-key.json'),
  threeRecords: join(SAMPLES, 'object-3records-weak-provenance.json'),
  ceEvent: join(SAMPLES, 'ce-data-cos-write-event.json'),
} as const

export function sampleBytes(path: string): Buffer {
  return readFileSync(path)
}

export function sampleJson<T = JsonObject>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

/** The real v1 key of the Code Engine event sample. */
export function ceEventKey(): string {
  return sampleJson<{key: string}>(SAMPLE.ceEvent).key
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

export interface KeyParts {
  account?: string
  region?: string
  vpc_crn?: string
  subnet_crn?: string
  instance_crn?: string
  vnic_id?: string
  record_type?: string
  /** Any time inside the hour directory (epoch ms). */
  time?: number
  stream_id?: string
  sequence?: number
}

/** A v1 key (URL-encoded CRNs, hour directories) for the given parts, vsi1's by default. */
export function makeV1Key(parts: KeyParts = {}): string {
  return buildV1Key({
    account: parts.account ?? ACCOUNT,
    region: parts.region ?? REGION,
    vpc_crn: parts.vpc_crn ?? VPC_CRN,
    subnet_crn: parts.subnet_crn ?? SUBNET_CRN,
    instance_crn: parts.instance_crn ?? INSTANCE_CRN,
    vnic_id: parts.vnic_id ?? VNIC_ID,
    record_type: parts.record_type ?? 'ingress',
    time: parts.time ?? Date.UTC(2026, 0, 15, 10, 0),
    stream_id: parts.stream_id ?? '20260111T080000Z',
    sequence: parts.sequence ?? 1,
  })
}

/** One record with every documented field (docs/flow-log-format.md §3.3); override or add any field. */
export function makeRecord(overrides: JsonObject = {}, start = Date.UTC(2026, 0, 15, 10, 1)): JsonObject {
  return {
    start_time: iso(start),
    end_time: iso(start + 10_000),
    connection_start_time: iso(start),
    direction: 'I',
    action: 'rejected',
    initiator_ip: '24.22.68.94',
    target_ip: VSI_IP,
    initiator_port: 51234,
    target_port: 22,
    transport_protocol: 6,
    ether_type: 'IPv4',
    was_initiated: true,
    was_terminated: false,
    bytes_from_initiator: 180,
    packets_from_initiator: 3,
    bytes_from_target: 0,
    packets_from_target: 0,
    cumulative_bytes_from_initiator: 180,
    cumulative_packets_from_initiator: 3,
    cumulative_bytes_from_target: 0,
    cumulative_packets_from_target: 0,
    ...overrides,
  }
}

export interface ObjectOptions {
  /** Capture window start (epoch ms). */
  start?: number
  /** Header fields to override or add (put `number_of_flow_logs` here to make it lie). */
  header?: JsonObject
}

/** A flow-log object document: the documented header, then `flow_logs`. */
export function makeObject(records: JsonObject[], options: ObjectOptions = {}): JsonObject {
  const start = options.start ?? Date.UTC(2026, 0, 15, 10, 0)
  return {
    version: '0.0.1',
    collector_crn: COLLECTOR_CRN,
    attached_endpoint_type: 'vnic',
    network_interface_id: VNIC_ID,
    instance_crn: INSTANCE_CRN,
    vpc_crn: VPC_CRN,
    capture_start_time: iso(start),
    capture_end_time: iso(start + 5 * 60_000),
    state: 'ok',
    number_of_flow_logs: records.length,
    ...options.header,
    flow_logs: records,
  }
}

/** `n` distinct records inside the window starting at `start`. */
export function makeRecords(n: number, start = Date.UTC(2026, 0, 15, 10, 0), seed = 0): JsonObject[] {
  const out: JsonObject[] = []
  for (let i = 0; i < n; i++) {
    out.push(
      makeRecord(
        {
          initiator_ip: `198.51.${(seed + i) % 200}.${(i * 7) % 250}`,
          initiator_port: 32768 + ((seed * 131 + i) % 28000),
          target_port: [22, 3000, 443, 80][i % 4],
          action: i % 2 === 0 ? 'rejected' : 'accepted',
          bytes_from_initiator: 40 + i,
        },
        start + ((i * 997) % 280_000),
      ),
    )
  }
  return out
}

export function gzip(body: string | Uint8Array | JsonObject): Buffer {
  if (typeof body === 'string' || body instanceof Uint8Array) return gzipSync(body)
  return gzipSync(JSON.stringify(body))
}

/** A fresh temp dir and its cleanup. */
export function tempDir(prefix = 'flowlog-fx-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** A Home rooted at `dir` (what FLOWLOG_HOME=dir gives the CLI). */
export function homeAt(dir: string): Home {
  return resolveHome({env: {FLOWLOG_HOME: dir}})
}

export interface FolderEntry {
  key: string
  body: string | Uint8Array | JsonObject
  /** Gzip the body (default true for objects and strings). */
  gzip?: boolean
  /** Set the file's mtime (epoch ms). */
  mtime?: number
}

/** Write files laid out like a bucket: each key becomes the path relative to `dir`. */
export function writeBucketFolder(dir: string, entries: FolderEntry[]): void {
  for (const e of entries) writeBucketFile(dir, e)
}

export function writeBucketFile(dir: string, e: FolderEntry): string {
  const path = join(dir, ...e.key.split('/'))
  mkdirSync(dirname(path), {recursive: true})
  let bytes: Uint8Array
  if (e.gzip !== false) bytes = gzip(e.body)
  else if (typeof e.body === 'string') bytes = Buffer.from(e.body)
  else if (e.body instanceof Uint8Array) bytes = e.body
  else bytes = Buffer.from(JSON.stringify(e.body))
  writeFileSync(path, bytes)
  if (e.mtime !== undefined) utimesSync(path, e.mtime / 1000, e.mtime / 1000)
  return path
}

/** Objects for `count` consecutive 5-minute windows of one vNIC, `perObject` records each. */
export function makeSeries(count: number, perObject: number, options: {start?: number; vnic_id?: string; record_type?: string} = {}): {key: string; doc: JsonObject}[] {
  const start = options.start ?? Date.UTC(2026, 0, 15, 0, 0)
  const out: {key: string; doc: JsonObject}[] = []
  const seq = new Map<number, number>()
  for (let i = 0; i < count; i++) {
    const w = start + i * 5 * 60_000
    const hour = Math.floor(w / 3_600_000)
    const s = (seq.get(hour) ?? 0) + 1
    seq.set(hour, s)
    const key = makeV1Key({time: w, sequence: s, vnic_id: options.vnic_id, record_type: options.record_type})
    out.push({key, doc: makeObject(makeRecords(perObject, w, i), {start: w, header: options.vnic_id ? {network_interface_id: options.vnic_id} : {}})})
  }
  return out
}
