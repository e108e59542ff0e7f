import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {buildV1Key} from '../../src/lib/records/key.js'
import {recordId} from '../../src/lib/records/row.js'
import {SAMPLES} from '../support/cli.js'

export const CE_SAMPLE = JSON.parse(readFileSync(join(SAMPLES, 'ce-data-cos-write-event.json'), 'utf8')) as {
  key: string
  bucket: string
  operation: string
  notification: Record<string, unknown>
}
export const SAMPLE_KEY = CE_SAMPLE.key
export const TWO_RECORDS = readFileSync(join(SAMPLES, 'object-2records-empty-times.json'))
export const EMPTY_V0 = readFileSync(join(SAMPLES, 'object-empty-with-v0-key.json'))

export interface FixtureObject {
  key: string
  body: Buffer
  records: number
  /** Record index → action. */
  actions: string[]
}

const ACCOUNT = '713c783d9a507a53135fe6793c37cc74'
const crn = (loc: string, type: string, id: string) => `crn:v1:bluemix:public:is:${loc}:a/${ACCOUNT}::${type}:${id}`
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * Synthetic flow-log objects with real v1 keys: `objects` objects of `recordsPerObject` records, one vNIC per 50
 * objects, 5-minute windows ending at `end`. Every third record is rejected; target ports cycle through 22, 67, 443.
 */
export function synthObjects(options: {objects: number; recordsPerObject: number; end?: number; emptyEvery?: number}): FixtureObject[] {
  const end = options.end ?? Math.floor(Date.now() / 300_000) * 300_000
  const out: FixtureObject[] = []
  for (let o = 0; o < options.objects; o++) {
    const vnicNo = Math.floor(o / 50)
    const w = end - (50 - (o % 50)) * 300_000
    const vnic = `0717-${String(vnicNo).padStart(8, '0')}-8ba2-4911-bada-66cb04f004f5`
    const instance = crn('us-south-1', 'instance', `0717_${String(vnicNo).padStart(8, '0')}-b391-4a09-8e92-80feada442a3`)
    const key = buildV1Key({
      account: ACCOUNT,
      region: 'us-south',
      vpc_crn: crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6'),
      subnet_crn: crn('us-south-1', 'subnet', '0717-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb'),
      instance_crn: instance,
      vnic_id: vnic,
      record_type: 'ingress',
      time: w,
      stream_id: '20211119T222459Z',
      sequence: o % 50,
    })
    const n = options.emptyEvery && o % options.emptyEvery === 0 ? 0 : options.recordsPerObject
    const actions: string[] = []
    const flowLogs = []
    for (let i = 0; i < n; i++) {
      const action = (o + i) % 3 === 0 ? 'rejected' : 'accepted'
      actions.push(action)
      flowLogs.push({
        start_time: iso(w + 1000 * (i % 200)),
        end_time: iso(w + 1000 * (i % 200) + 500),
        connection_start_time: iso(w + 1000 * (i % 200)),
        direction: 'I',
        action,
        initiator_ip: `92.63.${o % 250}.${i % 250}`,
        target_ip: '10.240.0.4',
        initiator_port: 40000 + (i % 20000),
        target_port: [22, 67, 443][i % 3],
        transport_protocol: 6,
        ether_type: 'IPv4',
        was_initiated: true,
        was_terminated: i % 2 === 0,
        bytes_from_initiator: 60 + i,
        packets_from_initiator: 1,
        bytes_from_target: 0,
        packets_from_target: 0,
        cumulative_bytes_from_initiator: 60 + i,
        cumulative_packets_from_initiator: 1,
        cumulative_bytes_from_target: 0,
        cumulative_packets_from_target: 0,
      })
    }
    const doc = {
      version: '0.0.1',
      collector_crn: crn('us-south', 'flow-log-collector', 'r006-789fce8c-28f4-4908-8197-c18de50387b0'),
      attached_endpoint_type: 'vnic',
      network_interface_id: vnic,
      instance_crn: instance,
      vpc_crn: crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6'),
      capture_start_time: iso(w),
      capture_end_time: iso(w + 300_000),
      state: 'ok',
      number_of_flow_logs: n,
      flow_logs: flowLogs,
    }
    out.push({key, body: gzipSync(JSON.stringify(doc)), records: n, actions})
  }
  return out
}

/** Every record_id of these objects. */
export function allIds(objects: FixtureObject[]): string[] {
  const ids: string[] = []
  for (const o of objects) for (let i = 0; i < o.records; i++) ids.push(recordId(o.key, i))
  return ids
}

export function writeObjects(dir: string, objects: {key: string; body: Buffer}[]): void {
  for (const o of objects) {
    const path = join(dir, ...o.key.split('/'))
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(path, o.body)
  }
}

export function tempDir(prefix = 'flowlog-sinks-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** A recording sleep that does not wait (tests of backoff). */
export function recordingSleep(): {sleeps: number[]; sleep: (ms: number) => Promise<void>} {
  const sleeps: number[] = []
  return {sleeps, sleep: async (ms: number) => void sleeps.push(ms)}
}
