import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'

export interface ProcResult {
  code: number | null
  ms: number
  peakRssMb: number
  stdout: string
  stderr: string
  /** When the first stdout bytes arrived (ms after the start): the page before the count line. */
  firstStdoutMs?: number
}

/** Run a command, timing it and sampling its peak RSS (VmHWM) from /proc. stdout is kept only when asked. */
export function runProc(cmd: string, args: string[], options: {env?: NodeJS.ProcessEnv; keepStdout?: boolean; shell?: boolean} = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(cmd, args, {env: {...process.env, ...options.env}, stdio: ['ignore', 'pipe', 'pipe'], shell: options.shell})
    let stdout = ''
    let stderr = ''
    let peak = 0
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        const m = /VmHWM:\s+(\d+) kB/.exec(status)
        if (m) peak = Math.max(peak, Number(m[1]) / 1024)
      } catch {
        // exited
      }
    }
    const timer = setInterval(sample, 20)
    let first: number | undefined
    child.stdout.on('data', (d: Buffer) => {
      first ??= Number(process.hrtime.bigint() - t0) / 1e6
      if (options.keepStdout) stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(timer)
      resolve({code, ms: Number(process.hrtime.bigint() - t0) / 1e6, peakRssMb: Math.round(peak), stdout, stderr, firstStdoutMs: first})
    })
  })
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
