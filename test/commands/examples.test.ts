import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {startFakeCloud, type FakeCloud} from '../fakes/cloud/index.js'
import {type FakeConfigApi, startConfigApi} from '../servers/logdna-config.js'
import {type FakeSlack, startSlack} from '../servers/slack.js'
import {type CliResult, ROOT, runCli, tempHome} from '../support/cli.js'
import {loadPty, start} from '../support/pty.js'

/**
 * Every command's help has at least two examples, each one line, and each of them runs: on the demo data (a home
 * where `flowlog demo --dir ./flowlogs` ran, cwd the folder holding ./flowlogs) and, for what needs IBM Cloud, the
 * fake cloud (test/fakes/cloud), a fake Slack webhook and a fake Mezmo configuration API. Commands run in the order a
 * person would (setup before doctor, alert create before delete, teardown last), examples in their help order.
 */

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {examples?: Array<string | {command: string; description?: string}>}>
}

/** The order the commands' examples run in: each builds on what the earlier ones left (the pipeline, alerts). */
const ORDER = [
  'demo', 'search', 'top', 'stats', 'connections', 'index:info', 'explore', 'export', 'vpc:export', 'why-rejected',
  'setup', 'doctor', 'pull', 'forward', 'alert:create', 'alert:list', 'alert:delete', 'watch', 'teardown', 'index:reset',
]

/** Examples that cannot run here, with the reason. Keep this tiny. */
const CANNOT_RUN: Record<string, string> = {
  'flowlog setup': 'asks its questions on a terminal (the wizard is tested with a scripted prompter in test/pipeline/wizard.test.ts)',
}

/** Examples documented as a refusal, with the exit code they show. */
const EXPECTED_CODE: Record<string, number> = {
  'flowlog teardown': 2, // "without a terminal it refuses: pass --yes"
  'flowlog index reset': 2, // the same
}

/** Examples that run until stopped: once stderr shows they are at work, Ctrl-C; they exit 130. */
const UNTIL_STOPPED: Array<{match: RegExp; ready: RegExp}> = [
  {match: /^flowlog watch /, ready: /watching .* \(Ctrl-C to stop\)/},
  {match: /^flowlog forward --follow/, ready: /forward pass 1:/},
]

/** Full-screen commands: run in a pseudo-terminal, wait for the screen, then quit with Ctrl-C (exit 130, as the key line says). */
const FULL_SCREEN: Record<string, RegExp> = {explore: /query›/}

/**
 * Run a full-screen example in a real pseudo-terminal: once it has drawn its screen, press Ctrl-C (the key that quits
 * from the query line and the list alike); its exit code. One that does not quit is killed, so that it cannot hold the
 * index for the examples after it.
 */
async function runInTerminal(args: string[], env: NodeJS.ProcessEnv, cwd: string, ready: RegExp): Promise<CliResult> {
  const pty = loadPty()
  if (!pty) throw new Error('@lydell/node-pty (a devDependency) did not load')
  const t = start(pty, [join(ROOT, 'bin', 'run.js'), ...args], {...env, NO_COLOR: '1'}, process.execPath, cwd)
  try {
    await t.waitFor(ready)
    t.type('\x03')
    const quit = await Promise.race([t.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000).unref())])
    const code = quit === 'hung' ? -1 : quit.exitCode
    return {stdout: t.output(), stderr: quit === 'hung' ? `did not quit on Ctrl-C:\n${t.output().slice(-1500)}` : t.output(), code, signal: null}
  } finally {
    t.p.kill()
  }
}

function examplesOf(id: string): string[] {
  return (manifest.commands[id].examples ?? []).map((e) => (typeof e === 'string' ? e : e.command))
}

/** A shell's words of one line: '…' and "…" quoted, no expansions (the examples use none). */
function words(line: string): string[] {
  const out: string[] = []
  const re = /\s*(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+))/gy
  let word: string | undefined
  let m: RegExpExecArray | null
  let last = 0
  while ((m = re.exec(line)) !== null && m[0] !== '') {
    const part = m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]
    const glued = m.index === last && word !== undefined && !/^\s/.test(m[0])
    if (glued) out[out.length - 1] += part
    else out.push(part)
    word = part
    last = re.lastIndex
  }
  expect(line.slice(last).trim(), `unparsed rest of: ${line}`).to.equal('')
  return out
}

function runUntilReady(args: string[], env: NodeJS.ProcessEnv, cwd: string, ready: RegExp): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {cwd, env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let signalled = false
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      if (!signalled && ready.test(stderr)) {
        signalled = true
        child.kill('SIGINT')
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({stdout, stderr, code, signal})
    })
    child.stdin.end()
  })
}

describe('help examples (each one runs, on the demo data and the fake cloud)', function () {
  this.timeout(120_000)
  let cloud: FakeCloud
  let slack: FakeSlack
  let mezmo: FakeConfigApi
  let work: {dir: string; cleanup: () => void}
  let env: NodeJS.ProcessEnv
  const SERVICE_KEY = 'examples-service-key-0123456789'

  before(async () => {
    cloud = await startFakeCloud()
    slack = await startSlack()
    mezmo = await startConfigApi({serviceKeys: [SERVICE_KEY]})
    work = tempHome('flowlog-examples-')
    env = {
      ...cloud.env,
      FLOWLOG_HOME: join(work.dir, 'home'),
      FLOWLOG_POLL_INTERVAL_MS: '5',
      FLOWLOG_HTTP_MAX_RETRIES: '0',
      FLOWLOG_SLACK_WEBHOOK: slack.webhookUrl,
      FLOWLOG_LOGDNA_API_URL: mezmo.url,
      FLOWLOG_LOGDNA_SERVICE_KEY: SERVICE_KEY,
      FLOWLOG_LOGDNA_INGESTION_KEY: [...cloud.state.ingestionKeys][0],
      CE_DATA: '',
    }
    const demo = await runCli(['demo', '--dir', './flowlogs'], {env, cwd: work.dir})
    expect(demo.code, demo.stderr).to.equal(0)
  })
  after(async () => {
    await mezmo?.close()
    await slack?.close()
    await cloud?.close()
    work?.cleanup()
  })

  it('every command has at least two examples, each a single line naming the command', () => {
    const ids = Object.keys(manifest.commands)
    expect([...ids].sort()).to.deep.equal([...ORDER].sort())
    for (const id of ids) {
      const examples = examplesOf(id)
      expect(examples.length, `${id}: examples`).to.be.at.least(2)
      for (const e of examples) {
        expect(e, `${id}: one line`).to.not.match(/\n|\\$/)
        expect(e.replace('<%= config.bin %>', 'flowlog'), id).to.match(new RegExp(`^flowlog ${id.replaceAll(':', ' ')}( |$)`))
      }
    }
  })

  // One test per command, in ORDER (mocha runs them in turn, each building on the last): each gets its own time
  // budget, so a slow machine fails the command that is slow, not the whole list at once.
  for (const id of ORDER) {
    it(`${id}: every example runs (exit 0, or the code its description documents)`, async function () {
      this.timeout(300_000)
      const failures: string[] = []
      for (const raw of examplesOf(id)) {
        const command = raw.replace('<%= config.bin %>', 'flowlog')
        if (CANNOT_RUN[command]) continue
        const args = words(command).slice(1)
        const untilStopped = UNTIL_STOPPED.find((u) => u.match.test(command))
        const r = untilStopped
          ? await runUntilReady(args, env, work.dir, untilStopped.ready)
          : FULL_SCREEN[id]
            ? await runInTerminal(args, env, work.dir, FULL_SCREEN[id])
            : await runCli(args, {env, cwd: work.dir, timeoutMs: 120_000})
        const want = untilStopped || FULL_SCREEN[id] ? 130 : (EXPECTED_CODE[command] ?? 0)
        if (r.code !== want) failures.push(`${command}\n  exit ${r.code} (want ${want})\n  ${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n  ')}`)
      }
      expect(failures, failures.join('\n')).to.deep.equal([])
    })
  }

  it('the examples reached the fakes: lines were ingested, alerts were created in both sinks', () => {
    expect(cloud.state.ingested.length).to.be.greaterThan(0)
    expect(mezmo.requests.some((q) => q.method === 'POST')).to.equal(true)
  })
})
