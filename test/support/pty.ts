/**
 * A real pseudo-terminal for tests of full-screen commands (explore): node-pty (prebuilt, a devDependency) runs the
 * command, and what it draws is read back with the escape codes taken out.
 */
import {createRequire} from 'node:module'

import {ROOT} from './cli.js'

export type Pty = typeof import('@lydell/node-pty')
type PtyProcess = ReturnType<Pty['spawn']>

export function loadPty(): Pty | undefined {
  try {
    return createRequire(import.meta.url)('@lydell/node-pty') as Pty
  } catch {
    return undefined
  }
}

/** The text of the terminal output: escape sequences out, so that words can be looked for. */
export function plain(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;?<>=]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)|\u001b[()][0-9A-Za-z]|\u001b[=>78]/g, '')
}

export interface Term {
  p: PtyProcess
  mark(): number
  /** Waits until the output after `from` shows the text (no timing is asserted: the limit only ends a hung run). */
  waitFor(what: RegExp, from?: number): Promise<string>
  type(text: string): void
  exited: Promise<{exitCode: number}>
  output(): string
}

export function start(pty: Pty, args: string[], env: NodeJS.ProcessEnv, command = process.execPath, cwd = ROOT): Term {
  const clean = {...process.env, ...env}
  // Ink draws only the last frame when it thinks it runs in CI: this is a real terminal.
  delete clean.CI
  delete clean.CONTINUOUS_INTEGRATION
  const p = pty.spawn(command, args, {name: 'xterm-256color', cols: 120, rows: 32, cwd, env: clean as Record<string, string>})
  let out = ''
  p.onData((d) => (out += d))
  const exited = new Promise<{exitCode: number}>((resolve) => p.onExit((e) => resolve({exitCode: e.exitCode})))
  let done = false
  void exited.then(() => (done = true))
  return {
    p,
    exited,
    output: () => plain(out),
    mark: () => out.length,
    async waitFor(what, from = 0) {
      const deadline = Date.now() + 90_000
      for (;;) {
        const seen = plain(out.slice(from))
        if (what.test(seen)) return seen
        if (done || Date.now() > deadline) throw new Error(`never saw ${what}${done ? ' (exited)' : ''}; last output:\n${seen.slice(-2500)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    type(text) {
      p.write(text)
    },
  }
}

