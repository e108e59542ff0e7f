/**
 * Test data for the investigation commands: flow-log objects from a seeded generator with irregular rows mixed in
 * (unknown fields, wrong JSON types, nulls, missing fields, strings needing escapes), written to a bucket-like folder
 * and loaded into a throwaway home; plus an independent counter over the flattened rows.
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {join as joinPath} from 'node:path'

import type {Home} from '../../src/lib/config/home.js'
import {prng} from '../../src/lib/demo/generate.js'
import type {JsonObject, JsonValue} from '../../src/lib/records/object.js'
import {recordTime} from '../../src/lib/records/object.js'
import {flattenRow} from '../../src/lib/records/row.js'
import {FolderSource} from '../../src/lib/sources/folder.js'
import {pullObjects} from '../../src/lib/sources/pull.js'
import {openStore} from '../../src/lib/store/store.js'
import {ROOT} from '../support/cli.js'
import {homeAt, iso, makeObject, makeRecord, makeV1Key, tempDir, writeBucketFolder} from '../support/fixtures.js'
import {sharedParsePool} from '../support/pool.js'

export interface Dataset {
  objects: {key: string; doc: JsonObject}[]
  /** Every flattened row, in object order. */
  rows: {row: JsonObject; key: string; idx: number; ts: number | undefined}[]
}

const SOURCES = ['92.63.197.61', '45.146.164.110', '89.248.165.52', '24.22.68.94', '10.240.0.4', '10.240.64.4', '161.26.0.10']
const TARGETS = ['10.240.0.4', '10.240.64.4', '10.240.0.1', '161.26.0.10', '161.26.0.6']
const PORTS = [22, 443, 80, 3389, 53, 123, 67, 3000, 8080]

/** One irregular record of several kinds (cycled by `k`). */
function irregular(base: JsonObject, k: number, rnd: () => number): JsonObject {
  switch (k % 9) {
    case 0:
      return {...base, target_port: String(base.target_port)} // a string port: a different value from the number
    case 1:
      return {...base, bytes_from_target: null} // null counts as 0 bytes
    case 2: {
      const r = {...base}
      delete r.initiator_ip // missing: left out of `top --by initiator_ip`
      return r
    }
    case 3:
      return {...base, initiator_ip: null} // null is missing
    case 4:
      return {...base, tcp_flags: Math.floor(rnd() * 64)} // an unknown field
    case 5:
      return {...base, note: 'say "hi"\n'} // needs JSON escapes
    case 6:
      return {...base, bytes_from_initiator: '100'} // a string: 0 bytes
    case 7:
      return {...base, bytes_from_initiator: 2.5} // not an integer: irregular, still a number
    default:
      return {...base, action: 'Rejected'} // another spelling (matches action:rejected, not the exact 'rejected')
  }
}

/** `objects` objects of up to `perObject` records over consecutive 5-minute windows starting at `start`. */
export function generateDataset(options: {objects?: number; perObject?: number; start?: number; seed?: number; irregularShare?: number} = {}): Dataset {
  const rnd = prng(options.seed ?? 7)
  const count = options.objects ?? 24
  const per = options.perObject ?? 30
  const start = options.start ?? Date.UTC(2026, 0, 15, 10, 0)
  const share = options.irregularShare ?? 0.15
  const objects: Dataset['objects'] = []
  const rows: Dataset['rows'] = []
  let k = 0
  for (let i = 0; i < count; i++) {
    const w = start + i * 5 * 60_000
    const records: JsonObject[] = []
    const n = 1 + Math.floor(rnd() * per)
    for (let j = 0; j < n; j++) {
      const t = w + Math.floor(rnd() * 280_000)
      let r = makeRecord(
        {
          action: rnd() < 0.55 ? 'rejected' : 'accepted',
          initiator_ip: SOURCES[Math.floor(rnd() * SOURCES.length)],
          target_ip: TARGETS[Math.floor(rnd() * TARGETS.length)],
          target_port: PORTS[Math.floor(rnd() * PORTS.length)],
          initiator_port: 32768 + Math.floor(rnd() * 28000),
          bytes_from_initiator: 40 + Math.floor(rnd() * 5000),
          bytes_from_target: Math.floor(rnd() * 3) === 0 ? 0 : Math.floor(rnd() * 100_000),
        },
        t,
      )
      if (rnd() < 0.1) delete r.bytes_from_target // absent in a regular row: 0 bytes
      if (rnd() < share) r = irregular(r, k++, rnd)
      records.push(r)
    }
    // Every 7th object has no start times: its records fall back to connection/capture times.
    if (i % 7 === 6) for (const r of records) r.start_time = ''
    const key = makeV1Key({time: w, sequence: (i % 12) + 1, record_type: i % 2 ? 'egress' : 'ingress', stream_id: `s${Math.floor(i / 12)}`})
    const doc = makeObject(records, {start: w})
    objects.push({key, doc})
    const header: JsonObject = {}
    for (const [hk, hv] of Object.entries(doc)) if (hk !== 'flow_logs') header[hk] = hv as JsonValue
    records.forEach((r, idx) => {
      const row = flattenRow(header, r, key)
      rows.push({row, key, idx, ts: recordTime(row)})
    })
  }
  return {objects, rows}
}

export interface LoadedHome {
  home: Home
  dir: string
  bucket: string
  cleanup: () => void
}

/** Write the dataset to a bucket-like folder and load it into a fresh home (in process). */
export async function loadDataset(data: Dataset): Promise<LoadedHome> {
  const h = tempDir('flowlog-inv-home-')
  const b = tempDir('flowlog-inv-bucket-')
  writeBucketFolder(
    b.dir,
    data.objects.map((o) => ({key: o.key, body: o.doc})),
  )
  const home = homeAt(h.dir)
  const store = await openStore(home)
  try {
    await pullObjects(new FolderSource(b.dir), store, {pool: sharedParsePool()})
  } finally {
    await store.close()
  }
  return {
    home,
    dir: h.dir,
    bucket: b.dir,
    cleanup: () => {
      h.cleanup()
      b.cleanup()
    },
  }
}

/** The independent count: flows and bytes per value of `field` over the rows `keep` accepts. */
export function independentTop(
  rows: Dataset['rows'],
  field: string,
  keep: (row: JsonObject, key: string, idx: number) => boolean,
): {rows: {value: JsonValue; flows: number; bytes: number}[]; missing: number} {
  const groups = new Map<string, {value: JsonValue; flows: number; bytes: number}>()
  let missing = 0
  for (const {row, key, idx} of rows) {
    if (!keep(row, key, idx)) continue
    const v = row[field]
    if (v === undefined || v === null) {
      missing++
      continue
    }
    const id = JSON.stringify(v)
    const g = groups.get(id) ?? {value: v, flows: 0, bytes: 0}
    const num = (x: JsonValue | undefined) => (typeof x === 'number' ? x : 0)
    g.flows++
    g.bytes += num(row.bytes_from_initiator) + num(row.bytes_from_target)
    groups.set(id, g)
  }
  const sorted = [...groups.values()].sort((a, b) => {
    if (b.flows !== a.flows) return b.flows - a.flows
    if (typeof a.value === 'number' && typeof b.value === 'number') return a.value - b.value
    if (typeof a.value !== typeof b.value) return typeof a.value === 'number' ? -1 : 1
    return String(a.value) < String(b.value) ? -1 : String(a.value) > String(b.value) ? 1 : 0
  })
  return {rows: sorted, missing}
}

export {iso}

// ---------------------------------------------------------------------------------------------------------------
// A CLI child process that keeps running (follow, watch, explore): read its output as it comes, then stop it.
// ---------------------------------------------------------------------------------------------------------------



export interface RunningCli {
  child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  /** Resolves when stdout (or stderr) contains the text (or matches), rejects after `timeoutMs` with what was seen. */
  waitFor(stream: 'stdout' | 'stderr', what: string | RegExp, timeoutMs?: number): Promise<void>
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{code: number | null; signal: NodeJS.Signals | null}>
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, [joinPath(ROOT, 'bin', 'run.js'), ...args], {
    cwd: ROOT,
    env: {...process.env, NO_COLOR: '1', ...env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('close', (code, signal) => resolve({code, signal})))
  let done = false
  void exited.then(() => (done = true))
  const waitFor: RunningCli['waitFor'] = async (stream, what, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    const seen = () => (stream === 'stdout' ? out : err)
    const hit = () => (typeof what === 'string' ? seen().includes(what) : what.test(seen()))
    while (!hit()) {
      if (done) throw new Error(`the CLI exited before ${stream} showed ${what}\nstdout: ${out}\nstderr: ${err}`)
      if (Date.now() > deadline) throw new Error(`${stream} never showed ${what}\nstdout: ${out}\nstderr: ${err}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    exited,
    async stop(signal = 'SIGINT') {
      if (!done) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const r = await exited
      clearTimeout(timer)
      return r
    },
  }
}
