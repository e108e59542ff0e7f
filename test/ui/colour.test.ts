/**
 * The colour decision (NO_COLOR, FORCE_COLOR, TTY), the Terminal writer, and the base command's error output
 * (`--json` error shape, exit codes, no colour codes in piped output). CLI cases need `npm run build`.
 */
import {expect} from 'chai'

import {registerSecret} from '../../src/lib/errors.js'
import {colourEnabled, makeChalk} from '../../src/lib/ui/colour.js'
import {formatBytes, plural} from '../../src/lib/ui/format.js'
import {Terminal} from '../../src/lib/ui/terminal.js'
import {runCli, tempHome} from '../support/cli.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/

const tty = {isTTY: true}
const pipe = {isTTY: false}

class FakeStream {
  text = ''
  constructor(readonly isTTY: boolean) {}
  write(s: string): boolean {
    this.text += s
    return true
  }
}

describe('ui/colour: the colour decision', () => {
  it('a TTY gets colour, a pipe does not', () => {
    expect(colourEnabled(tty, {})).to.equal(true)
    expect(colourEnabled(pipe, {})).to.equal(false)
    expect(colourEnabled({}, {})).to.equal(false)
  })

  it('NO_COLOR (any non-empty value) turns colour off, even on a TTY; empty NO_COLOR is ignored', () => {
    expect(colourEnabled(tty, {NO_COLOR: '1'})).to.equal(false)
    expect(colourEnabled(tty, {NO_COLOR: 'yes'})).to.equal(false)
    expect(colourEnabled(tty, {NO_COLOR: ''})).to.equal(true)
  })

  it('TERM=dumb turns colour off', () => {
    expect(colourEnabled(tty, {TERM: 'dumb'})).to.equal(false)
    expect(colourEnabled(tty, {TERM: 'xterm-256color'})).to.equal(true)
  })

  it('FORCE_COLOR forces colour on a pipe and wins over NO_COLOR; FORCE_COLOR=0/false forces it off', () => {
    expect(colourEnabled(pipe, {FORCE_COLOR: '1'})).to.equal(true)
    expect(colourEnabled(pipe, {FORCE_COLOR: '3'})).to.equal(true)
    expect(colourEnabled(pipe, {FORCE_COLOR: '1', NO_COLOR: '1'})).to.equal(true)
    expect(colourEnabled(tty, {FORCE_COLOR: '0'})).to.equal(false)
    expect(colourEnabled(tty, {FORCE_COLOR: 'false'})).to.equal(false)
    expect(colourEnabled(pipe, {FORCE_COLOR: ''})).to.equal(false)
  })

  it('makeChalk: escape codes only when enabled', () => {
    expect(makeChalk(true).red('x')).to.match(ANSI)
    expect(makeChalk(false).red('x')).to.equal('x')
  })
})

describe('ui/terminal: the only writer', () => {
  function term(options: {json?: boolean; quiet?: boolean; tty?: boolean; env?: NodeJS.ProcessEnv} = {}) {
    const stdout = new FakeStream(Boolean(options.tty))
    const stderr = new FakeStream(Boolean(options.tty))
    const t = new Terminal({json: options.json, quiet: options.quiet, env: options.env ?? {}, stdout, stderr})
    return {t, stdout, stderr}
  }

  it('data to stdout, everything for people to stderr, one newline each', () => {
    const {t, stdout, stderr} = term()
    t.out('data')
    t.info('info')
    t.hint('hint')
    t.warn('careful')
    t.error('broken')
    expect(stdout.text).to.equal('data\n')
    expect(stderr.text).to.equal('info\nhint\nwarning: careful\nerror: broken\n')
  })

  it('piped: no escape codes anywhere; on a TTY: coloured', () => {
    const piped = term()
    piped.t.out(piped.t.c.red('x'))
    piped.t.error('e')
    expect(piped.stdout.text + piped.stderr.text).not.to.match(ANSI)
    const onTty = term({tty: true})
    onTty.t.error('e')
    expect(onTty.stderr.text).to.match(ANSI)
    const noColour = term({tty: true, env: {NO_COLOR: '1'}})
    noColour.t.error('e')
    expect(noColour.stderr.text).not.to.match(ANSI)
  })

  it('--json and --quiet silence info and hints, not warnings and errors', () => {
    for (const opts of [{json: true}, {quiet: true}]) {
      const {t, stderr} = term(opts)
      t.info('info')
      t.hint('hint')
      t.warn('w')
      t.error('e')
      expect(stderr.text).to.equal('warning: w\nerror: e\n')
    }
  })

  it('no spinner when not a TTY: progress is silent, the final text is plain info', () => {
    const {t, stderr} = term()
    t.startSpinner('working')
    t.progress('50%')
    t.stopSpinner('done')
    expect(stderr.text).to.equal('done\n')
  })

  it('stderr output is redacted', () => {
    registerSecret('s3cr3t-api-key-value')
    const {t, stderr} = term()
    t.error('failed with apikey s3cr3t-api-key-value')
    expect(stderr.text).not.to.contain('s3cr3t-api-key-value')
    expect(stderr.text).to.contain('[REDACTED]')
  })

  it('format helpers used in summaries', () => {
    expect(plural(1, 'object')).to.equal('1 object')
    expect(plural(1200, 'record')).to.equal('1,200 records')
    expect(formatBytes(512)).to.equal('512 B')
    expect(formatBytes(1536)).to.equal('1.5 KB')
  })
})

describe('base command: error output and exit codes (CLI)', function () {
  this.timeout(120_000)
  let home: {dir: string; cleanup: () => void}
  beforeEach(() => {
    home = tempHome()
  })
  afterEach(() => home.cleanup())

  /** The environment of a plain pipe: no colour variables at all. */
  const piped = () => ({FLOWLOG_HOME: home.dir, NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm-256color'})

  it('a UsageError with --json: only the error object on stdout, exit 2', async () => {
    const r = await runCli(['pull', '--since', 'garbage', '--json'], {env: piped()})
    expect(r.code).to.equal(2)
    expect(JSON.parse(r.stdout)).to.deep.equal({
      error: {
        code: 'usage',
        message: '--since "garbage" is neither an ISO 8601 time nor a duration',
        exitCode: 2,
        suggestions: ['Use a duration such as 90m, 1h or 7d, or a time such as 2026-11-29T10:00:00Z'],
      },
    })
    expect(r.stderr).to.contain('error: --since "garbage"')
  })

  it('a ConfigError with --json: code config, exit 3', async () => {
    const r = await runCli(['pull', '--source', `${home.dir}/nope`, '--json'], {env: piped()})
    expect(r.code).to.equal(3)
    const out = JSON.parse(r.stdout) as {error: Record<string, unknown>}
    expect(out.error).to.include({code: 'config', exitCode: 3})
    expect(String(out.error.message)).to.contain('does not exist')
  })

  it('a flag parsing error (oclif) with --json: code usage, exit 2', async () => {
    const r = await runCli(['pull', '--no-such-flag', '--json'], {env: piped()})
    expect(r.code).to.equal(2)
    const out = JSON.parse(r.stdout) as {error: Record<string, unknown>}
    expect(out.error).to.include({code: 'usage', exitCode: 2})
    expect(String(out.error.message)).to.contain('no-such-flag')
  })

  it('the same errors without --json: message and suggestion on stderr, nothing on stdout', async () => {
    const r = await runCli(['pull', '--since', 'garbage'], {env: piped()})
    expect(r.code).to.equal(2)
    expect(r.stdout).to.equal('')
    expect(r.stderr).to.equal(
      'error: --since "garbage" is neither an ISO 8601 time nor a duration\n' +
        '  → Use a duration such as 90m, 1h or 7d, or a time such as 2026-11-29T10:00:00Z\n',
    )
  })

  it('no colour codes in piped output; FORCE_COLOR=1 brings them back', async () => {
    const plain = await runCli(['pull', '--source', `${home.dir}/nope`], {env: piped()})
    expect(plain.code).to.equal(3)
    expect(plain.stderr).not.to.match(ANSI)
    const forced = await runCli(['pull', '--source', `${home.dir}/nope`], {env: {...piped(), FORCE_COLOR: '1'}})
    expect(forced.code).to.equal(3)
    expect(forced.stderr).to.match(ANSI)
    const demo = await runCli(['demo', '--hours', '1'], {env: piped()})
    expect(demo.code, demo.stderr).to.equal(0)
    expect(demo.stdout).to.contain('flowlog search')
    expect(demo.stdout + demo.stderr).not.to.match(ANSI)
  })
})
