import {rmSync, writeFileSync} from 'node:fs'
import {parentPort} from 'node:worker_threads'

import {type EncodeInput, type EncodeResult, encodeBytesBounded} from './encode.js'

/**
 * Parse worker: decodes and encodes a batch of objects and writes their TSV lines for DuckDB, so the main thread only
 * hands it file names: the scanner's canonical lines to `<file>.c.tsv`, the general path's lines (ord first) to
 * `<file>.g.tsv`, each only when there are any. Replies with the per-object results (without their lines).
 */
export interface WorkerRequest {
  id: number
  file: string
  items: EncodeInput[]
}

export interface WorkerResponse {
  id: number
  results: EncodeResult[]
  rows: number
  /** The files written (absent: no lines of that kind). */
  canonical?: string
  general?: string
}

parentPort?.on('message', async (req: WorkerRequest) => {
  try {
    const results: EncodeResult[] = []
    const canonical: Uint8Array[] = []
    const general: string[] = []
    let rows = 0
    for (const item of req.items) {
      const r = await encodeBytesBounded(item)
      if (r.ok) {
        const ord = r.object.ord
        if (r.object.tsv) {
          if (r.object.tsv.length) canonical.push(r.object.tsv)
          r.object.tsv = undefined
        } else for (const line of r.object.lines) general.push(`${ord}\t${line}\n`)
        rows += r.object.records
        r.object.lines = []
      }
      results.push(r)
    }
    const response: WorkerResponse = {id: req.id, results, rows}
    if (canonical.length) {
      response.canonical = `${req.file}.c.tsv`
      writeFileSync(response.canonical, canonical.length === 1 ? canonical[0] : Buffer.concat(canonical))
    }
    if (general.length) {
      response.general = `${req.file}.g.tsv`
      writeFileSync(response.general, general.join(''))
    }
    parentPort!.postMessage(response)
  } catch (error) {
    // A file written in part (a full disk) is not left behind.
    for (const f of [`${req.file}.c.tsv`, `${req.file}.g.tsv`]) rmSync(f, {force: true})
    parentPort!.postMessage({id: req.id, error: (error as Error).message, code: (error as NodeJS.ErrnoException).code})
  }
})
