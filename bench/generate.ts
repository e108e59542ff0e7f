import {mkdirSync, writeFileSync, existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {prng} from '../src/lib/demo/generate.js'
import {buildV1Key} from '../src/lib/records/key.js'

/**
 * Synthetic bucket for benchmarks: `objects` objects of `perObject` records, spread over interfaces and 5-minute
 * windows ending at `end`. Records look like real ones (~600 bytes of record fields, ~1.8 KB flattened).
 */
export interface BenchDataOptions {
  dir: string
  objects: number
  perObject: number
  end?: number
  seed?: number
}

const ACCOUNT = '713c783d9a507a53135fe6793c37cc74'
const crn = (loc: string, type: string, id: string) => `crn:v1:bluemix:public:is:${loc}:a/${ACCOUNT}::${type}:${id}`
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

export function generateBenchData(o: BenchDataOptions): {records: number; bytes: number; start: number; end: number} {
  const marker = join(o.dir, '.bench.json')
  const want = JSON.stringify({objects: o.objects, perObject: o.perObject, end: o.end ?? null, seed: o.seed ?? 1})
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) {
    const meta = JSON.parse(readFileSync(join(o.dir, '.bench-meta.json'), 'utf8'))
    return meta
  }
  const rnd = prng(o.seed ?? 1)
  const interfaces = 20
  const windows = Math.ceil(o.objects / (interfaces * 2))
  const end = Math.floor((o.end ?? Date.now()) / 300_000) * 300_000
  const start = end - windows * 300_000
  const vpc = crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6')
  let made = 0
  let records = 0
  let bytes = 0
  const scanners = Array.from({length: 200}, () => `${45 + Math.floor(rnd() * 150)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`)
  for (let w = 0; w < windows && made < o.objects; w++) {
    const t0 = start + w * 300_000
    for (let n = 0; n < interfaces && made < o.objects; n++) {
      const zone = `us-south-${(n % 3) + 1}`
      const subnetId = `07${17 + (n % 3)}-b3eda4c5-63a5-430e-a2e0-26f22e0d1f${String(n % 3).padStart(2, '0')}`
      const instId = `07${17 + (n % 3)}_2c984e95-b391-4a09-8e92-80feada442${String(n).padStart(2, '0')}`
      const vnic = `07${17 + (n % 3)}-83c09614-8ba2-4911-bada-66cb04f004${String(n).padStart(2, '0')}`
      const myIp = `10.240.${(n % 3) * 64}.${4 + n}`
      for (const recordType of ['ingress', 'egress'] as const) {
        if (made >= o.objects) break
        const flow_logs = []
        for (let i = 0; i < o.perObject; i++) {
          const inbound = recordType === 'ingress'
          const rejected = inbound && rnd() < 0.4
          const peer = inbound ? (rnd() < 0.5 ? scanners[Math.floor(rnd() * scanners.length)] : `10.240.${Math.floor(rnd() * 3) * 64}.${4 + Math.floor(rnd() * 20)}`) : rnd() < 0.3 ? '161.26.0.10' : `10.240.${Math.floor(rnd() * 3) * 64}.${4 + Math.floor(rnd() * 20)}`
          const port = [22, 443, 80, 3000, 53, 123, 3389, 8080, 5432][Math.floor(rnd() * 9)]
          const s = t0 + Math.floor(rnd() * 280_000)
          const bi = Math.floor(rnd() * 100_000)
          const bt = rejected ? 0 : Math.floor(rnd() * 1_000_000)
          flow_logs.push({
            start_time: iso(s),
            end_time: iso(s + 5000),
            connection_start_time: iso(s),
            direction: inbound ? 'I' : 'O',
            action: rejected ? 'rejected' : 'accepted',
            initiator_ip: inbound ? peer : myIp,
            target_ip: inbound ? myIp : peer,
            initiator_port: 32768 + Math.floor(rnd() * 28000),
            target_port: port,
            transport_protocol: port === 53 || port === 123 ? 17 : 6,
            ether_type: 'IPv4',
            was_initiated: true,
            was_terminated: rnd() < 0.5,
            bytes_from_initiator: bi,
            packets_from_initiator: 1 + Math.floor(bi / 1400),
            bytes_from_target: bt,
            packets_from_target: Math.floor(bt / 1400),
            cumulative_bytes_from_initiator: bi,
            cumulative_packets_from_initiator: 1 + Math.floor(bi / 1400),
            cumulative_bytes_from_target: bt,
            cumulative_packets_from_target: Math.floor(bt / 1400),
          })
        }
        const doc = {
          version: '0.0.1',
          collector_crn: crn('us-south', 'flow-log-collector', 'r006-789fce8c-4f9d-4c6f-9bfe-1c1a6d3f3a10'),
          attached_endpoint_type: 'vnic',
          network_interface_id: vnic,
          instance_crn: crn(zone, 'instance', instId),
          vpc_crn: vpc,
          capture_start_time: iso(t0),
          capture_end_time: iso(t0 + 300_000),
          state: 'ok',
          number_of_flow_logs: flow_logs.length,
          flow_logs,
        }
        const key = buildV1Key({
          account: ACCOUNT,
          region: 'us-south',
          vpc_crn: vpc,
          subnet_crn: crn(zone, 'subnet', subnetId),
          instance_crn: crn(zone, 'instance', instId),
          vnic_id: vnic,
          record_type: recordType,
          time: t0,
          stream_id: '20261101T000000Z',
          sequence: (Math.floor((t0 % 3_600_000) / 300_000)) + 1,
        })
        const body = gzipSync(JSON.stringify(doc))
        const path = join(o.dir, ...key.split('/'))
        mkdirSync(dirname(path), {recursive: true})
        writeFileSync(path, body)
        made++
        records += flow_logs.length
        bytes += body.length
      }
    }
  }
  const meta = {records, bytes, start, end}
  writeFileSync(join(o.dir, '.bench-meta.json'), JSON.stringify(meta))
  writeFileSync(marker, want)
  return meta
}
