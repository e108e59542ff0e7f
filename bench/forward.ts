/**
 * Benchmark of `flowlog forward`: the built CLI (bin/run.js over dist/) forwards a folder to the fake Log Analysis
 * ingestion server on loopback, with a fresh FLOWLOG_HOME. Measures wall time and the child's peak RSS (the CLI
 * reports process.resourceUsage().maxRSS when FLOWLOG_REPORT_RSS=1; /proc/<pid>/status VmHWM is sampled as well).
 * The lead's runner generates the folder and calls benchForward; `npm run build` must have run.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startLogdna} from '../test/servers/ingest-logdna.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const KEY = 'bench-ingestion-key-0123456789'

export interface BenchForwardResult {
  recordsPerSec: number
  peakRssMb: number
  seconds: number
  /** CPU seconds (user + system) of the CLI, and of the fake ingest server (this process) during the run. */
  cliCpuSeconds: number
  serverCpuSeconds: number
}

function vmHwmKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

export async function benchForward(opts: {dir: string; records: number}): Promise<BenchForwardResult> {
  const fake = await startLogdna({ingestionKeys: [KEY], record: 'none'})
  const home = mkdtempSync(join(tmpdir(), 'flowlog-bench-forward-'))
  try {
    const started = process.hrtime.bigint()
    let peakKb = 0
    let reportedKb: number | undefined
    let cliCpuMs = 0
    const cpuBefore = process.cpuUsage()
    let stderr = ''
    let stdout = ''
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'forward', '--source', opts.dir, '--sink', 'logdna', '--json'], {
        cwd: ROOT,
        env: {
          ...process.env,
          NO_COLOR: '1',
          FLOWLOG_HOME: home,
          FLOWLOG_LOGDNA_URL: fake.url,
          FLOWLOG_LOGDNA_INGESTION_KEY: KEY,
          FLOWLOG_REPORT_RSS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const sampler = setInterval(() => {
        const kb = child.pid === undefined ? undefined : vmHwmKb(child.pid)
        if (kb !== undefined && kb > peakKb) peakKb = kb
      }, 100)
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
        const m = /flowlog-max-rss-kb: (\d+) cpu-ms: (\d+)/.exec(stderr)
        if (m) {
          reportedKb = Number(m[1])
          cliCpuMs = Number(m[2])
        }
      })
      child.on('error', (error) => {
        clearInterval(sampler)
        reject(error)
      })
      child.on('close', (c) => {
        clearInterval(sampler)
        resolvePromise(c)
      })
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const cpu = process.cpuUsage(cpuBefore)
    if (code !== 0) throw new Error(`flowlog forward exited ${code}: ${stderr.slice(-2000)}`)
    const summary = JSON.parse(stdout) as {lines: number; failures: unknown[]}
    if (summary.lines !== fake.accepted) throw new Error(`the CLI reports ${summary.lines} lines, the server accepted ${fake.accepted}`)
    if (fake.accepted !== opts.records) throw new Error(`expected ${opts.records} records to arrive, ${fake.accepted} did`)
    const kb = Math.max(peakKb, reportedKb ?? 0)
    return {
      recordsPerSec: opts.records / seconds,
      peakRssMb: kb / 1024,
      seconds,
      cliCpuSeconds: cliCpuMs / 1000,
      serverCpuSeconds: (cpu.user + cpu.system) / 1e6,
    }
  } finally {
    await fake.close()
    rmSync(home, {recursive: true, force: true})
  }
}
