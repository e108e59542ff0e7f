import {gzipSync} from 'node:zlib'

import {buildV1Key} from '../records/key.js'
import {
  DEMO_ACCOUNT,
  DEMO_APP_PORT,
  DEMO_COLLECTOR_CRN,
  DEMO_IBM_DNS,
  DEMO_IBM_MIRROR,
  DEMO_IBM_NTP,
  DEMO_INSTANCES,
  DEMO_LAPTOP_IP,
  DEMO_REGION,
  DEMO_SCANNERS,
  DEMO_SUBNETS,
  DEMO_VPC,
} from './scenario.js'

/**
 * Realistic flow-log objects replaying the IBM blog's scenario: ingress and egress objects per interface every
 * 5 minutes, with correct v1 keys and headers. Deterministic for a given seed and end time.
 */
export interface DemoOptions {
  hours?: number
  seed?: number
  /** End of the generated period (default: now, floored to 5 minutes). */
  end?: number
}

export interface DemoObject {
  key: string
  body: Buffer
  records: number
}

const WINDOW_MS = 5 * 60_000

/** mulberry32: a tiny deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Rec = Record<string, string | number | boolean>

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

interface Flow {
  direction: 'I' | 'O'
  action: 'accepted' | 'rejected'
  initiator_ip: string
  target_ip: string
  initiator_port: number
  target_port: number
  transport_protocol: 6 | 17
  bytesI: number
  packetsI: number
  bytesT: number
  packetsT: number
  terminated?: boolean
}

function record(flow: Flow, winStart: number, rnd: () => number): Rec {
  const start = winStart + Math.floor(rnd() * (WINDOW_MS - 20_000))
  const end = Math.min(winStart + WINDOW_MS - 1000, start + 1000 + Math.floor(rnd() * 15_000))
  return {
    start_time: iso(start),
    end_time: iso(end),
    connection_start_time: iso(start),
    direction: flow.direction,
    action: flow.action,
    initiator_ip: flow.initiator_ip,
    target_ip: flow.target_ip,
    initiator_port: flow.initiator_port,
    target_port: flow.target_port,
    transport_protocol: flow.transport_protocol,
    ether_type: 'IPv4',
    was_initiated: true,
    was_terminated: flow.terminated ?? true,
    bytes_from_initiator: flow.bytesI,
    packets_from_initiator: flow.packetsI,
    bytes_from_target: flow.bytesT,
    packets_from_target: flow.packetsT,
    cumulative_bytes_from_initiator: flow.bytesI,
    cumulative_packets_from_initiator: flow.packetsI,
    cumulative_bytes_from_target: flow.bytesT,
    cumulative_packets_from_target: flow.packetsT,
  }
}

const SCAN_PORTS = [443, 22, 23, 80, 3389, 8080, 445, 5900, 1433, 3306, 6379, 8443, 25, 21, 2375]

export function generateDemo(options: DemoOptions = {}): DemoObject[] {
  const hours = options.hours ?? 2
  const rnd = prng(options.seed ?? 1)
  const end = Math.floor((options.end ?? Date.now()) / WINDOW_MS) * WINDOW_MS
  const start = end - hours * 3_600_000
  const eph = () => 32768 + Math.floor(rnd() * 28000)
  const streamStart = start - 4 * 86_400_000
  const streamId = iso(streamStart).replace(/[-:]/g, '').replace(/Z$/, 'Z')
  const vsi1 = DEMO_INSTANCES.vsi1
  const vsi2 = DEMO_INSTANCES.vsi2
  const objects: DemoObject[] = []
  const seqByDir = new Map<string, number>()
  for (let w = start; w < end; w += WINDOW_MS) {
    const flows = new Map<string, Flow[]>() // `${vsi}:${I|O}`
    const add = (vsi: 'vsi1' | 'vsi2', flow: Flow) => {
      const k = `${vsi}:${flow.direction}`
      if (!flows.has(k)) flows.set(k, [])
      flows.get(k)!.push(flow)
    }
    // Internet scanners knocking on vsi1's floating IP: rejected connection attempts, one SYN each.
    const scans = 2 + Math.floor(rnd() * 6)
    for (let i = 0; i < scans; i++) {
      const scanner = i === 0 ? DEMO_SCANNERS[0] : DEMO_SCANNERS[Math.floor(rnd() * DEMO_SCANNERS.length)]
      const port = scanner === DEMO_SCANNERS[0] ? [443, 22, 8080, 3389][Math.floor(rnd() * 4)] : SCAN_PORTS[Math.floor(rnd() * SCAN_PORTS.length)]
      add('vsi1', {direction: 'I', action: 'rejected', initiator_ip: scanner, target_ip: vsi1.ip, initiator_port: eph(), target_port: port, transport_protocol: 6, bytesI: 40 + Math.floor(rnd() * 20), packetsI: 1, bytesT: 0, packetsT: 0})
    }
    // The laptop: SSH hangs (rejected SYN retries), the app on 3000 works.
    if (rnd() < 0.6) {
      add('vsi1', {direction: 'I', action: 'rejected', initiator_ip: DEMO_LAPTOP_IP, target_ip: vsi1.ip, initiator_port: eph(), target_port: 22, transport_protocol: 6, bytesI: 60 * (3 + Math.floor(rnd() * 4)), packetsI: 3 + Math.floor(rnd() * 4), bytesT: 0, packetsT: 0})
    }
    if (rnd() < 0.7) {
      const bi = 400 + Math.floor(rnd() * 3000)
      add('vsi1', {direction: 'I', action: 'accepted', initiator_ip: DEMO_LAPTOP_IP, target_ip: vsi1.ip, initiator_port: eph(), target_port: DEMO_APP_PORT, transport_protocol: 6, bytesI: bi, packetsI: 6 + Math.floor(rnd() * 10), bytesT: bi * 4, packetsT: 8 + Math.floor(rnd() * 10)})
    }
    // vsi1 calls vsi2's app on 3000: seen outbound on vsi1 and inbound on vsi2.
    const calls = 1 + Math.floor(rnd() * 3)
    for (let i = 0; i < calls; i++) {
      const f = {action: 'accepted' as const, initiator_ip: vsi1.ip, target_ip: vsi2.ip, initiator_port: eph(), target_port: DEMO_APP_PORT, transport_protocol: 6 as const, bytesI: 300 + Math.floor(rnd() * 800), packetsI: 5, bytesT: 1200 + Math.floor(rnd() * 4000), packetsT: 6}
      add('vsi1', {...f, direction: 'O'})
      add('vsi2', {...f, direction: 'I'})
    }
    // Infrastructure traffic from both: DHCP, DNS, NTP; vsi2 installs software from the IBM mirror.
    for (const vsi of ['vsi1', 'vsi2'] as const) {
      const inst = DEMO_INSTANCES[vsi]
      const gateway = inst.ip.replace(/\.\d+$/, '.1')
      if (rnd() < 0.35) add(vsi, {direction: 'O', action: 'accepted', initiator_ip: inst.ip, target_ip: gateway, initiator_port: 68, target_port: 67, transport_protocol: 17, bytesI: 1368, packetsI: 4, bytesT: 1280, packetsT: 4, terminated: false})
      const dns = 1 + Math.floor(rnd() * 3)
      for (let i = 0; i < dns; i++) add(vsi, {direction: 'O', action: 'accepted', initiator_ip: inst.ip, target_ip: DEMO_IBM_DNS[Math.floor(rnd() * 2)], initiator_port: eph(), target_port: 53, transport_protocol: 17, bytesI: 60 + Math.floor(rnd() * 40), packetsI: 1, bytesT: 120 + Math.floor(rnd() * 200), packetsT: 1})
      if (rnd() < 0.3) add(vsi, {direction: 'O', action: 'accepted', initiator_ip: inst.ip, target_ip: DEMO_IBM_NTP, initiator_port: 123, target_port: 123, transport_protocol: 17, bytesI: 76, packetsI: 1, bytesT: 76, packetsT: 1})
    }
    if (rnd() < 0.8) {
      const n = 1 + Math.floor(rnd() * 3)
      for (let i = 0; i < n; i++) {
        const port = rnd() < 0.6 ? 443 : 80
        add('vsi2', {direction: 'O', action: 'accepted', initiator_ip: vsi2.ip, target_ip: DEMO_IBM_MIRROR, initiator_port: eph(), target_port: port, transport_protocol: 6, bytesI: 800 + Math.floor(rnd() * 2000), packetsI: 10 + Math.floor(rnd() * 20), bytesT: 20_000 + Math.floor(rnd() * 2_000_000), packetsT: 30 + Math.floor(rnd() * 1500)})
      }
    }
    for (const vsi of ['vsi1', 'vsi2'] as const) {
      const inst = DEMO_INSTANCES[vsi]
      const subnet = DEMO_SUBNETS[inst.subnet]
      for (const direction of ['I', 'O'] as const) {
        const recordType = direction === 'I' ? 'ingress' : 'egress'
        const list = (flows.get(`${vsi}:${direction}`) ?? []).map((f) => record(f, w, rnd))
        const hourKey = `${vsi}/${recordType}/${Math.floor(w / 3_600_000)}`
        const seq = (seqByDir.get(hourKey) ?? 0) + 1
        seqByDir.set(hourKey, seq)
        const key = buildV1Key({
          account: DEMO_ACCOUNT,
          region: DEMO_REGION,
          vpc_crn: DEMO_VPC.crn,
          subnet_crn: subnet.crn,
          instance_crn: inst.crn,
          vnic_id: inst.vnic,
          record_type: recordType,
          time: w,
          stream_id: streamId,
          sequence: seq,
        })
        const doc = {
          version: '0.0.1',
          collector_crn: DEMO_COLLECTOR_CRN,
          attached_endpoint_type: 'vnic',
          network_interface_id: inst.vnic,
          instance_crn: inst.crn,
          vpc_crn: DEMO_VPC.crn,
          capture_start_time: iso(w),
          capture_end_time: iso(w + WINDOW_MS),
          state: 'ok',
          number_of_flow_logs: list.length,
          flow_logs: list,
        }
        objects.push({key, body: gzipSync(JSON.stringify(doc)), records: list.length})
      }
    }
  }
  return objects
}
