import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The real sample objects (test/fixtures/samples, Apache-2.0; see its README). */
export const SAMPLES = join(ROOT, 'test', 'fixtures', 'samples')

export interface CliResult {
  stdout: string
  stderr: string
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * Run the built CLI (bin/run.js over dist/) as a real child process, the way users run it: real exit codes, real
 * stdout/stderr, no TTY. `npm test` builds first.
 */
export function runCli(
  args: string[],
  options: {env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number} = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {
      cwd: options.cwd ?? ROOT,
      env: {...process.env, NO_COLOR: '1', ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({stdout, stderr, code, signal})
    })
    child.stdin.end(options.input ?? '')
  })
}

/** A fresh FLOWLOG_HOME for one test; remove it with the returned cleanup. */
export function tempHome(prefix = 'flowlog-test-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}
