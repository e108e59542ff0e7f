/**
 * Flow-log objects for the COS tests and bench: generated ones (v1 keys with URL-encoded CRNs, gzip bodies,
 * §5 metadata) and the real samples of test/fixtures/samples (gzipped at test time).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {buildV1Key} from '../../src/lib/records/key.js'
import {HOUR_MS} from '../../src/lib/records/time.js'
import {SAMPLES} from '../support/cli.js'

export const ACCOUNT = '713c783d9a507a53135fe6793c37cc74'

export interface GeneratedObject {
  key: string
  body: Buffer
  metadata: Record<string, string>
  records: number
  captureStart: number
  captureEnd: number
  /** When the collector would have written it (capture end + 20 s): the LastModified to store. */
  written: number
}

export interface GenerateOptions {
  /** First hour (epoch ms, hour-aligned). */
  start: number
  hours: number
  vnics: number
  recordTypes?: string[]
  /** Objects per hour per vNIC and record type (≤ 12, default 12: one per 5 minutes). */
  perHour?: number
  recordsPerObject: number
}

const crn = (location: string, type: string, id: string) => `crn:v1:bluemix:public:is:${location}:a/${ACCOUNT}::${type}:${id}`
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

export function vnicIds(n: number): {vnic: string; instance: string; subnet: string; zone: string}[] {
  return Array.from({length: n}, (_, i) => {
    const zone = `us-south-${(i % 3) + 1}`
    const hex = i.toString(16).padStart(4, '0')
    return {
      vnic: `0727-${hex}c904-48ef-4c94-b41f-51c48ccfbee4`,
      instance: `0727_${hex}0f09-7b4a-4399-b7af-e96225f6ad4a`,
      subnet: `0727-${hex}a4c5-63a5-430e-a2e0-26f22e0d1fdb`,
      zone,
    }
  })
}

export function makeObjectBody(o: {vnic: string; instanceCrn: string; start: number; end: number; records: number; seed: number}): Buffer {
  const flowLogs = Array.from({length: o.records}, (_, r) => {
    const t = o.start + ((r * 997 + o.seed) % Math.max(1, o.end - o.start))
    const inbound = (r + o.seed) % 3 === 0
    return {
      start_time: iso(t),
      end_time: iso(Math.min(o.end, t + 1000)),
      connection_start_time: iso(t - 5000),
      direction: inbound ? 'I' : 'O',
      action: (r + o.seed) % 7 === 0 ? 'rejected' : 'accepted',
      initiator_ip: `10.240.${(o.seed >> 8) & 255}.${(o.seed & 255) || 1}`,
      target_ip: `10.240.64.${(r % 250) + 1}`,
      initiator_port: 30000 + (r % 30000),
      target_port: [22, 80, 443, 3000, 53][r % 5],
      transport_protocol: r % 5 === 4 ? 17 : 6,
      ether_type: 'IPv4',
      was_initiated: r % 2 === 0,
      was_terminated: r % 3 === 0,
      bytes_from_initiator: 100 + r,
      packets_from_initiator: 2 + (r % 5),
      bytes_from_target: 200 + r,
      packets_from_target: 1 + (r % 4),
      cumulative_bytes_from_initiator: 1000 + r,
      cumulative_packets_from_initiator: 20 + r,
      cumulative_bytes_from_target: 2000 + r,
      cumulative_packets_from_target: 10 + r,
    }
  })
  const doc = {
    version: '0.0.1',
    collector_crn: crn('us-south', 'flow-log-collector', 'r006-789fce8c-4f9d-4c6f-9bfe-1c1a6d3f3a10'),
    attached_endpoint_type: 'vnic',
    network_interface_id: o.vnic,
    instance_crn: o.instanceCrn,
    vpc_crn: crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6'),
    capture_start_time: iso(o.start),
    capture_end_time: iso(o.end),
    state: 'ok',
    number_of_flow_logs: o.records,
    flow_logs: flowLogs,
  }
  return gzipSync(JSON.stringify(doc))
}

/** Objects for every hour × vNIC × record type × 5-minute window, in key order within each prefix. */
export function generateObjects(options: GenerateOptions): GeneratedObject[] {
  const out: GeneratedObject[] = []
  const perHour = Math.min(12, options.perHour ?? 12)
  const types = options.recordTypes ?? ['egress', 'ingress']
  let seed = 1
  for (const v of vnicIds(options.vnics)) {
    const instanceCrn = crn(v.zone, 'instance', v.instance)
    for (const recordType of types) {
      for (let h = 0; h < options.hours; h++) {
        const hour = options.start + h * HOUR_MS
        for (let w = 0; w < perHour; w++) {
          const start = hour + w * 5 * 60_000
          const end = start + 5 * 60_000 - 1000
          const key = buildV1Key({
            account: ACCOUNT,
            region: 'us-south',
            vpc_crn: crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6'),
            subnet_crn: crn(v.zone, 'subnet', v.subnet),
            instance_crn: instanceCrn,
            vnic_id: v.vnic,
            record_type: recordType,
            time: hour,
            stream_id: '20211119T222459Z',
            sequence: w + 1,
          })
          const body = makeObjectBody({vnic: v.vnic, instanceCrn, start, end, records: options.recordsPerObject, seed: seed++})
          out.push({
            key,
            body,
            records: options.recordsPerObject,
            captureStart: start,
            captureEnd: end,
            written: end + 20_000,
            metadata: {
              version: '0.0.1',
              attached_endpoint_type: 'vnic',
              network_interface_id: v.vnic,
              instance_crn: instanceCrn,
              capture_start_time: iso(start),
              capture_end_time: iso(end),
              state: 'ok',
              number_of_flow_logs: String(options.recordsPerObject),
            },
          })
        }
      }
    }
  }
  return out
}

export interface SampleObject {
  key: string
  body: Buffer
  /** The sample's JSON text (what a client that decompresses would get). */
  json: string
  records: number
}

/** The real samples under real-shaped keys: the CE event's v1 key (with %3A/%2F), the v0 key embedded in a sample. */
export function sampleObjects(): SampleObject[] {
  const event = JSON.parse(readFileSync(join(SAMPLES, 'ce-data-cos-write-event.json'), 'utf8')) as {key: string}
  const two = readFileSync(join(SAMPLES, 'object-2records-empty-times.json'), 'utf8')
  const three = readFileSync(join(SAMPLES, 'object-3records-weak-provenance.json'), 'utf8')
  const empty = readFileSync(join(SAMPLES, 'object-empty-with-v0-key.json'), 'utf8')
  const v0Key = (JSON.parse(empty) as {key: string}).key
  return [
    {key: event.key, body: gzipSync(two), json: two, records: 2},
    {key: event.key.replace(/\/00000006\.gz$/, '/00000007.gz'), body: gzipSync(three), json: three, records: 3},
    // Stored uncompressed although the key ends in .gz, like the original.
    {key: v0Key, body: Buffer.from(empty), json: empty, records: 0},
  ]
}
