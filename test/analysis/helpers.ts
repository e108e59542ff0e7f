/**
 * Build a small local index in a temp home from synthetic flow-log records (fixtures.ts), through the real pull path.
 */
import type {Home} from '../../src/lib/config/home.js'
import {DEMO_INSTANCES, DEMO_SUBNETS, DEMO_VPC} from '../../src/lib/demo/scenario.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {pullObjects} from '../../src/lib/sources/pull.js'
import {openStore, type Store} from '../../src/lib/store/store.js'
import {homeAt, makeObject, makeRecord, makeV1Key, tempDir, writeBucketFile} from '../support/fixtures.js'
import {sharedParsePool} from '../support/pool.js'

export const T0 = Date.UTC(2026, 10, 29, 9, 0)

export interface ObjectSpec {
  vsi: 'vsi1' | 'vsi2'
  /** Window start (epoch ms). */
  start: number
  records: JsonObject[]
  state?: string
}

export function rec(overrides: JsonObject, start: number): JsonObject {
  return makeRecord(overrides, start)
}

/** Inbound SSH attempts from the laptop (the blog's rejects). */
export function laptopSsh(n: number, start = T0, extra: JsonObject = {}): JsonObject[] {
  return Array.from({length: n}, (_, i) => rec({initiator_port: 50000 + i, ...extra}, start + i * 1000))
}

export function scannerIp(s: number): string {
  return `45.${Math.floor(s / 250) + 1}.${s % 250}.77`
}

/** Public scanners: `sources` sources, each sending `perSource` one-way rejected SYNs over `ports`. */
export function scanners(sources: number, ports: number[], perSource: number, start = T0, target: string = DEMO_INSTANCES.vsi1.ip, ipOf: (s: number) => string = scannerIp): JsonObject[] {
  const out: JsonObject[] = []
  for (let s = 0; s < sources; s++) {
    for (let k = 0; k < perSource; k++) {
      out.push(
        rec(
          {
            initiator_ip: ipOf(s),
            initiator_port: 40000 + s,
            target_ip: target,
            target_port: ports[(s + k) % ports.length],
            packets_from_initiator: 1,
            bytes_from_initiator: 44,
          },
          start + s * 37 + k,
        ),
      )
    }
  }
  return out
}

export async function buildIndex(objects: ObjectSpec[]): Promise<{home: Home; dir: string; cleanup: () => void}> {
  const homeDir = tempDir('flowlog-wr-home-')
  const folder = tempDir('flowlog-wr-bucket-')
  const seq = new Map<string, number>()
  for (const o of objects) {
    const vsi = DEMO_INSTANCES[o.vsi]
    const subnet = DEMO_SUBNETS[vsi.subnet]
    const hour = `${o.vsi}-${Math.floor(o.start / 3_600_000)}`
    const s = (seq.get(hour) ?? 0) + 1
    seq.set(hour, s)
    const key = makeV1Key({vpc_crn: DEMO_VPC.crn, subnet_crn: subnet.crn, instance_crn: vsi.crn, vnic_id: vsi.vnic, time: o.start, sequence: s})
    const doc = makeObject(o.records, {
      start: o.start,
      header: {network_interface_id: vsi.vnic, instance_crn: vsi.crn, vpc_crn: DEMO_VPC.crn, ...(o.state ? {state: o.state} : {})},
    })
    writeBucketFile(folder.dir, {key, body: doc})
  }
  const home = homeAt(homeDir.dir)
  const store = await openStore(home)
  try {
    await pullObjects(new FolderSource(folder.dir), store, {pool: sharedParsePool()})
  } finally {
    await store.close()
  }
  return {
    home,
    dir: homeDir.dir,
    cleanup: () => {
      homeDir.cleanup()
      folder.cleanup()
    },
  }
}

export async function withStore<T>(home: Home, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(home, {readOnly: true})
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
