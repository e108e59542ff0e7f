import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {availableParallelism} from 'node:os'
import {pathToFileURL} from 'node:url'
import {Worker} from 'node:worker_threads'

import {FlowlogError} from '../errors.js'
import type {EncodeInput} from './encode.js'
import type {WorkerResponse} from './worker.js'

/**
 * The URL of tsx's ESM API. When tsx's require hook loaded this module as CommonJS (mocha does), import.meta has no
 * resolve(): resolve through require and take the ESM build that sits next to the CommonJS one.
 */
function resolveTsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api')
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api')
  const esm = cjs.replace(/\.cjs$/, '.mjs')
  return pathToFileURL(existsSync(esm) ? esm : cjs).href
}

/** A small pool of parse workers (one per core), each handling one batch at a time. */
export class ParsePool {
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly waiting: ((w: Worker) => void)[] = []
  private nextId = 1

  constructor(size = Math.max(1, Math.min(availableParallelism(), 8))) {
    const here = import.meta.url
    const isTs = here.endsWith('.ts')
    const url = new URL(isTs ? './worker.ts' : './worker.js', here)
    // Under tsx (tests, benchmarks run from source) a worker must register tsx itself before loading TypeScript.
    const tsxApi = isTs ? resolveTsxApi() : ''
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}) })`
    for (let i = 0; i < size; i++) {
      const w = isTs ? new Worker(bootstrap, {eval: true}) : new Worker(url)
      w.unref()
      this.workers.push(w)
      this.idle.push(w)
    }
  }

  private acquire(): Promise<Worker> {
    const w = this.idle.pop()
    if (w) return Promise.resolve(w)
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  private release(w: Worker): void {
    const next = this.waiting.shift()
    if (next) next(w)
    else this.idle.push(w)
  }

  async encode(file: string, items: EncodeInput[]): Promise<WorkerResponse> {
    const w = await this.acquire()
    const id = this.nextId++
    try {
      return await new Promise<WorkerResponse>((resolve, reject) => {
        const onMessage = (msg: WorkerResponse & {error?: string; code?: string}) => {
          if (msg.id !== id) return
          cleanup()
          if (msg.error) reject(new FlowlogError(`parse worker failed: ${msg.error}`, 1, {cause: msg.code ? Object.assign(new Error(msg.error), {code: msg.code}) : undefined}))
          else resolve(msg)
        }
        const onError = (err: Error) => {
          cleanup()
          reject(err)
        }
        const cleanup = () => {
          w.off('message', onMessage)
          w.off('error', onError)
        }
        w.on('message', onMessage)
        w.on('error', onError)
        // Copied, not transferred: small Buffers share a pooled ArrayBuffer that must not be detached.
        w.postMessage({id, file, items})
      })
    } finally {
      this.release(w)
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
