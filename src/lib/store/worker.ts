import {writeFileSync} from 'node:fs'
import {parentPort} from 'node:worker_threads'

import {type EncodeInput, type EncodeResult, encodeBytes} from './encode.js'

/**
 * Parse worker: decodes and encodes a batch of objects and writes their TSV lines to `file` (ord first), so the main
 * thread only hands DuckDB a file name. Replies with the per-object results (without their lines).
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
}

parentPort?.on('message', (req: WorkerRequest) => {
  try {
    const results: EncodeResult[] = []
    const chunks: string[] = []
    let rows = 0
    for (const item of req.items) {
      const r = encodeBytes(item)
      if (r.ok) {
        const ord = r.object.ord
        for (const line of r.object.lines) chunks.push(`${ord}\t${line}\n`)
        rows += r.object.lines.length
        r.object.lines = []
      }
      results.push(r)
    }
    writeFileSync(req.file, chunks.join(''))
    parentPort!.postMessage({id: req.id, results, rows} satisfies WorkerResponse)
  } catch (error) {
    parentPort!.postMessage({id: req.id, error: (error as Error).message})
  }
})
