import {Command, Errors, type Interfaces} from '@oclif/core'

import {type Home, resolveHome, useIndex} from './lib/config/home.js'
import {runInterruptHooks} from './lib/interrupt.js'
import {ExitCode, FlowlogError, InterruptedError, PartialFailureError, redact, UsageError} from './lib/errors.js'
import type {TimeWindow} from './lib/records/time.js'
import {didYouMean} from './lib/suggest.js'
import type {SourceFlagValues} from './lib/sources/from-flags.js'
import type {Store} from './lib/store/store.js'
import type {Line} from './lib/ui/lines.js'
import {waitingMessage} from './lib/store/lock.js'
import {Terminal} from './lib/ui/terminal.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every flowlog command extends this: --json through oclif's enableJsonFlag, human output silent under --json,
 * FlowlogErrors mapped to the documented exit codes, colour decided once, Ctrl-C → 130.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  /**
   * Commands that can stop cleanly (forward: finish the batch in flight, save the ledger) set this and pass
   * `this.interrupted` to their library call; the first Ctrl-C or SIGTERM then aborts it (exit 130 after cleanup), a
   * second one exits at once. Other commands exit 130 at the first signal.
   */
  static gracefulInterrupt = false

  /** Commands that read the index say so when it is the demo's (docs/cli.md, "Indexes"). */
  static readsIndex = false

  protected term!: Terminal
  protected home!: Home
  /** Aborted (with an InterruptedError) by Ctrl-C or SIGTERM when the command is gracefulInterrupt. */
  protected interrupted = new AbortController().signal
  private signalHandler?: () => void
  /** Set while a non-graceful command pulls (`--source`): a signal then stops the pull cleanly too. */
  private gracefulNow = false

  async init(): Promise<void> {
    await super.init()
    this.term = new Terminal({json: this.jsonEnabled()})
    // DEBUG=…: the SDK's debug log goes through redact() (src/lib/ui/redact-debug.ts).
    if (process.env.DEBUG) (await import('./lib/ui/redact-debug.js')).installDebugRedaction()
    this.home = resolveHome({dataDir: this.config.dataDir, configDir: this.config.configDir})
    const controller = new AbortController()
    this.interrupted = controller.signal
    const graceful = (this.constructor as typeof BaseCommand).gracefulInterrupt
    this.signalHandler = () => {
      this.term.stopSpinner()
      if ((graceful || this.gracefulNow) && !controller.signal.aborted) {
        process.stderr.write('\ninterrupted: finishing what is in flight (again to stop at once)\n')
        controller.abort(new InterruptedError())
        return
      }
      process.stderr.write('\ninterrupted\n')
      // A DuckDB query in progress is stopped first: the process exits now, not when the query would have ended.
      runInterruptHooks()
      process.exit(ExitCode.interrupted)
    }
    process.on('SIGINT', this.signalHandler)
    process.on('SIGTERM', this.signalHandler)
    const elsewhere = this.argv.some((a) => /^(--source|--remote|--follow|-f|--sql)(=|$)/.test(a))
    if ((this.constructor as typeof BaseCommand).readsIndex && this.home.index === 'demo' && !elsewhere) {
      this.term.hint("reading the demo's index (flowlog pull goes back to yours; flowlog index info)")
    }
  }

  /** Loading from a source goes into your own index, which is then the one in use (not the demo's). */
  protected async useOwnIndex(): Promise<void> {
    if (this.home.index !== 'own') this.home = await useIndex(this.home, 'own')
  }

  async finally(err: Error | undefined): Promise<void> {
    if (this.signalHandler) {
      process.removeListener('SIGINT', this.signalHandler)
      process.removeListener('SIGTERM', this.signalHandler)
    }
    this.term?.stopSpinner()
    await super.finally(err)
  }

  /** Plain JSON on stdout (colourised only when colour is on). */
  logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  /**
   * `--source` on a reading command: pull what is new for the window first, with progress on stderr. Objects that
   * could not be loaded are named, the command goes on with the rest, and the exit code becomes 5.
   */
  protected async pullSourceFirst(flags: SourceFlagValues, window: TimeWindow, doing: string): Promise<void> {
    await this.useOwnIndex()
    this.term.startSpinner(`pulling from ${flags.source}`)
    this.gracefulNow = true
    try {
      // Loaded only when a command is given --source (the pull machinery is not needed otherwise).
      const {pullFirst} = await import('./lib/sources/from-flags.js')
      const pulled = await pullFirst(this.home, flags, window, {
        signal: this.interrupted,
        onProgress: (p) => this.term.progress(`pulling: ${p.loaded} objects, ${p.records} records`),
        onWait: (holder) => this.term.info(waitingMessage(holder)),
      })
      this.term.stopSpinner(`pulled ${pulled.summary?.objects.loaded ?? 0} new objects (${pulled.summary?.records ?? 0} records) from ${pulled.description}`)
      if (pulled.partial) {
        for (const f of pulled.partial.result ? (pulled.partial.result as {failures?: {key: string; error: string}[]}).failures ?? [] : []) this.term.err(`  ${f.key}: ${f.error}`)
        this.term.warn(`${pulled.partial.message}; ${doing} what was loaded`)
        process.exitCode = ExitCode.partial
      }
    } finally {
      this.gracefulNow = false
      this.term.stopSpinner()
    }
  }

  /** True (and says how to load data) when the index holds no records yet. */
  protected async indexIsEmpty(store: Store): Promise<boolean> {
    if (!(await store.isEmpty())) return false
    this.term.warn('the index is empty')
    this.term.hint('  load data first: flowlog pull --source DIR|cos://BUCKET   (or try flowlog demo)')
    return true
  }

  /** Print what a src/lib/ui renderer returned, each line on its stream. */
  protected emit(lines: Iterable<Line>): void {
    for (const l of lines) this.term[l.to](l.text)
  }

  /** Mark the run as partially failed (exit 5) while still returning the result for --json. */
  protected partial(message: string): void {
    this.term.error(message)
    process.exitCode = ExitCode.partial
  }

  async catch(err: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<unknown> {
    this.term?.stopSpinner()
    // oclif's own errors (flag parsing: exit 2, this.exit()) keep their behaviour.
    if (err instanceof Errors.ExitError) throw err
    // oclif's "Nonexistent flag: --sinse" gets the nearest flag's name (src/lib/suggest.ts), like search's own check.
    const unknown = !(err instanceof FlowlogError) && /^Nonexistent flags?: ([^\n]+)/.exec(err.message ?? '')
    if (unknown) {
      const ctor = this.constructor as {flags?: Record<string, unknown>}
      const names = [...Object.keys(ctor.flags ?? {}), 'json', 'help']
      const words = unknown[1].split(/,\s*/).map((w) => w.trim())
      err = new UsageError(words.map((w) => `unknown flag ${w}${didYouMean(w.replace(/^-+/, '').split('=')[0], names, '--')}`).join('; '), {
        suggestions: [`flowlog ${this.id ?? ''} --help lists the flags`.replace(/\s+--help/, ' --help')],
      })
    }
    if (!(err instanceof FlowlogError) && err.oclif?.exit !== undefined) {
      if (this.jsonEnabled()) {
        this.logJson({error: {code: 'usage', message: redact(err.message), exitCode: err.oclif.exit}})
        this.exit(err.oclif.exit)
      }
      throw err
    }
    const term = this.term ?? new Terminal({json: this.jsonEnabled()})
    let exitCode: number
    let payload: Record<string, unknown>
    if (err instanceof FlowlogError) {
      exitCode = err.exitCode
      payload = {code: err.code, message: redact(err.message), exitCode, suggestions: err.suggestions, ...(err.detail ? {detail: err.detail} : {})}
      if (this.jsonEnabled()) {
        if (err instanceof PartialFailureError && err.result !== undefined) this.logJson(err.result)
        else this.logJson({error: payload})
      }
      term.error(redact(err.message))
      for (const s of err.suggestions) term.err(`  ${term.ce.dim('→')} ${redact(s)}`)
    } else {
      exitCode = ExitCode.internal
      payload = {code: 'internal', message: redact(err?.message ?? String(err)), exitCode}
      if (this.jsonEnabled()) this.logJson({error: payload})
      term.error(`internal error: ${redact(err?.message ?? String(err))}`)
      if (process.env.DEBUG) term.err(redact(err?.stack ?? ''))
      else term.err(term.ce.dim('  → run again with DEBUG=1 for details; this is a bug, please report it'))
    }
    this.exit(exitCode)
    return undefined
  }
}
