import type {ChalkInstance} from 'chalk'
import type {Ora} from 'ora'

import {redact} from '../errors.js'
import {colourEnabled, makeChalk} from './colour.js'

/**
 * The only place that writes to the terminal. Data goes to stdout (`out`), everything for people — progress, hints,
 * warnings, spinners — to stderr. Under --json the human stdout output is suppressed by the command, and stderr
 * stays quiet apart from warnings and errors.
 */
export interface TerminalOptions {
  json?: boolean
  quiet?: boolean
  env?: NodeJS.ProcessEnv
  stdout?: NodeJS.WriteStream | {write(s: string): boolean; isTTY?: boolean}
  stderr?: NodeJS.WriteStream | {write(s: string): boolean; isTTY?: boolean}
  /** Clock (tests). */
  now?: () => number
}

const PROGRESS_EVERY_MS = 5000

export class Terminal {
  readonly colour: boolean
  readonly errColour: boolean
  readonly c: ChalkInstance
  readonly ce: ChalkInstance
  readonly json: boolean
  readonly quiet: boolean
  private readonly stdout: {write(s: string): boolean; isTTY?: boolean}
  private readonly stderr: {write(s: string): boolean; isTTY?: boolean}
  private readonly env: NodeJS.ProcessEnv
  private spinner?: Ora
  private spinnerWanted = false
  private spinnerText = ''
  private readonly now: () => number
  private lastProgressAt: number

  constructor(options: TerminalOptions = {}) {
    this.env = options.env ?? process.env
    this.stdout = options.stdout ?? process.stdout
    this.stderr = options.stderr ?? process.stderr
    this.now = options.now ?? Date.now
    this.lastProgressAt = this.now()
    this.json = Boolean(options.json)
    this.quiet = Boolean(options.quiet)
    this.colour = colourEnabled(this.stdout, this.env)
    this.errColour = colourEnabled(this.stderr, this.env)
    this.c = makeChalk(this.colour)
    this.ce = makeChalk(this.errColour)
  }

  /** Whether stdin and stderr are interactive (prompts and spinners make sense). */
  get interactive(): boolean {
    return Boolean(process.stdin.isTTY && this.stderr.isTTY) && this.env.CI !== 'true'
  }

  /**
   * The width tables fit (src/lib/ui/table.ts): Infinity with --wide; else $COLUMNS when set, the terminal's width on a
   * TTY, Infinity when stdout is a file or a pipe (nothing wraps there).
   */
  tableWidth(wide = false): number {
    if (wide) return Number.POSITIVE_INFINITY
    const env = Number(this.env.COLUMNS)
    if (Number.isInteger(env) && env > 0) return env
    const cols = (this.stdout as {columns?: number}).columns
    if (this.stdout.isTTY && typeof cols === 'number' && cols > 0) return cols
    return Number.POSITIVE_INFINITY
  }

  /** Data on stdout. */
  out(text: string): void {
    this.pauseSpinner()
    this.stdout.write(text.endsWith('\n') ? text : text + '\n')
    this.resumeSpinner()
  }

  /** Raw data on stdout, no newline added. */
  write(text: string): void {
    this.stdout.write(text)
  }

  /** Buffered data on stdout for large outputs (one write per ~1 MB instead of one per record). */
  bufferedWriter(limit = 1 << 20): {write(text: string): void; flush(): void} {
    let parts: string[] = []
    let size = 0
    const flush = () => {
      if (parts.length === 0) return
      this.stdout.write(parts.join(''))
      parts = []
      size = 0
    }
    return {
      write: (text: string) => {
        parts.push(text)
        size += text.length
        if (size >= limit) flush()
      },
      flush,
    }
  }

  /** Information for people on stderr (silent under --json or --quiet). */
  info(text: string): void {
    if (this.json || this.quiet) return
    this.err(text)
  }

  hint(text: string): void {
    if (this.json || this.quiet) return
    this.err(this.ce.dim(text))
  }

  warn(text: string): void {
    this.err(`${this.ce.yellow('warning:')} ${text}`)
  }

  error(text: string): void {
    this.err(`${this.ce.red('error:')} ${text}`)
  }

  /** Anything on stderr, secrets redacted. */
  err(text: string): void {
    this.pauseSpinner()
    const t = redact(text)
    this.stderr.write(t.endsWith('\n') ? t : t + '\n')
    this.resumeSpinner()
  }

  /**
   * A spinner on stderr, only on a TTY with colour allowed and not under --json; otherwise nothing. ora is loaded on
   * first use (start-up time matters: it is part of every command).
   */
  startSpinner(text: string): void {
    if (this.json || this.quiet || !this.stderr.isTTY || !this.errColour) return
    this.spinnerText = text
    this.spinnerWanted = true
    void import('ora').then(({default: ora}) => {
      if (!this.spinnerWanted || this.spinner) return
      this.spinner = ora({text: this.spinnerText, stream: this.stderr as NodeJS.WriteStream, discardStdin: false}).start()
    })
  }

  updateSpinner(text: string): void {
    this.progress(text)
  }

  /**
   * Progress text: the spinner on a TTY; elsewhere (logs, Code Engine) a plain line at most every 5 seconds, so long
   * runs show they are alive without flooding the log, and short ones print nothing.
   */
  progress(text: string): void {
    this.spinnerText = text
    if (this.spinner) {
      this.spinner.text = text
      return
    }
    if (this.json || this.quiet || this.stderr.isTTY) return
    const now = this.now()
    if (now - this.lastProgressAt < PROGRESS_EVERY_MS) return
    this.lastProgressAt = now
    this.err(text)
  }

  stopSpinner(final?: string, ok = true): void {
    this.spinnerWanted = false
    if (!this.spinner) {
      if (final) this.info(final)
      return
    }
    if (final) {
      if (ok) this.spinner.succeed(final)
      else this.spinner.fail(final)
    } else this.spinner.stop()
    this.spinner = undefined
  }

  private pauseSpinner(): void {
    if (this.spinner?.isSpinning) this.spinner.clear()
  }

  private resumeSpinner(): void {
    if (this.spinner?.isSpinning) this.spinner.render()
  }
}
