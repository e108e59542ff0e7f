/**
 * COS pull throughput on loopback: the strict COS test server (HMAC, SigV4 checked) holding generated flow-log
 * objects; list + read every object through the cos:// source, with 16 downloads in flight; then count the list
 * requests of a one-hour window, cold and with the prefix cache warm.
 *
 *   node --import tsx bench/cos.ts [objects] [recordsPerObject]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {resolveHome} from '../src/lib/config/home.js'
import {HOUR_MS} from '../src/lib/records/time.js'
import {createCosSource} from '../src/lib/sources/cos.js'
import {generateObjects} from '../test/cos/fixtures.js'
import {startCosServer} from '../test/servers/cos-server.js'

export interface CosBenchResult {
  objectsPerSec: number
  mbPerSec: number
  listRequestsOneHour: number
  listRequestsOneHourCached: number
  objects: number
  seconds: number
}

export async function benchCosPull(opts: {objects: number; recordsPerObject: number}): Promise<CosBenchResult> {
  const bucket = 'bench-flowlogs'
  const keyId = 'bench-key'
  const secret = 'bench-secret-0123456789'
  const server = await startCosServer({hmacKeys: {[keyId]: secret}, buckets: [bucket]})
  const dir = mkdtempSync(join(tmpdir(), 'flowlog-cos-bench-'))
  try {
    const vnics = 10
    const perHourObjects = vnics * 2 * 12
    const hours = Math.max(1, Math.ceil(opts.objects / perHourObjects))
    const start = Date.UTC(2026, 0, 1, 0)
    const objects = generateObjects({start, hours, vnics, recordsPerObject: opts.recordsPerObject}).slice(0, opts.objects)
    for (const o of objects) server.putObject(bucket, o.key, o.body, {metadata: o.metadata, lastModified: new Date(o.written)})

    const env = {FLOWLOG_COS_ENDPOINT: server.url, FLOWLOG_COS_HMAC_ACCESS_KEY_ID: keyId, FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: secret}
    const home = resolveHome({env: {FLOWLOG_HOME: join(dir, 'home')}})
    const source = await createCosSource(`cos://${bucket}`, {home, env})
    const t0 = performance.now()
    const inFlight = new Set<Promise<void>>()
    let bytes = 0
    let count = 0
    for await (const obj of source.list({})) {
      while (inFlight.size >= 16) await Promise.race(inFlight)
      const p = source.read(obj).then((b) => {
        bytes += b.byteLength
        count++
      })
      inFlight.add(p)
      void p.finally(() => inFlight.delete(p))
    }
    await Promise.all(inFlight)
    const seconds = (performance.now() - t0) / 1000
    await source.close?.()
    if (count !== objects.length) throw new Error(`read ${count} objects, expected ${objects.length}`)

    // One hour in the middle of the data, with a fresh home (walk) and again (prefix cache).
    const mid = start + Math.floor(hours / 2) * HOUR_MS
    const coldHome = resolveHome({env: {FLOWLOG_HOME: join(dir, 'cold')}})
    const cold = await createCosSource(`cos://${bucket}`, {home: coldHome, env})
    for await (const _ of cold.list({since: mid, until: mid + HOUR_MS})) void _
    const warm = await createCosSource(`cos://${bucket}`, {home: coldHome, env})
    for await (const _ of warm.list({since: mid, until: mid + HOUR_MS})) void _
    await cold.close?.()
    await warm.close?.()

    return {
      objectsPerSec: count / seconds,
      mbPerSec: bytes / seconds / 1e6,
      listRequestsOneHour: cold.stats.listRequests,
      listRequestsOneHourCached: warm.stats.listRequests,
      objects: count,
      seconds,
    }
  } finally {
    await server.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const objects = Number(process.argv[2] ?? 2000)
  const records = Number(process.argv[3] ?? 50)
  const r = await benchCosPull({objects, recordsPerObject: records})
  process.stdout.write(JSON.stringify(r, null, 2) + '\n')
}
