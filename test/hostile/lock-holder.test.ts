/**
 * A blocked command says which command holds the index and whether it reads or writes it (needs `npm run build`):
 * a `pull` behind a long `search`, a `pull` behind a `pull` (src/lib/store/lock.ts).
 */
import {expect} from 'chai'
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {currentCommand, IndexBusyError, indexHolders, readersDir} from '../../src/lib/store/lock.js'
import {ROOT, runCli} from '../support/cli.js'
import {makeSeries, tempDir, writeBucketFolder} from '../support/fixtures.js'

interface Running {
  child: ChildProcess
  stderr: () => string
  exited: Promise<number | null>
  done: () => boolean
}

function start(args: string[], home: string): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {cwd: ROOT, env: {...process.env, FLOWLOG_HOME: home, NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
  let err = ''
  let done = false
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => (done = true))
  return {child, stderr: () => err, exited, done: () => done}
}

async function until(what: () => boolean, label: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('who holds the index (real processes)', function () {
  this.timeout(300_000)
  let t: {dir: string; cleanup: () => void}
  let home: string
  let big: string
  let small: string
  before(async () => {
    t = tempDir('flowlog-lock-holder-')
    home = join(t.dir, 'home')
    big = join(t.dir, 'big')
    small = join(t.dir, 'small')
    writeBucketFolder(big, makeSeries(1000, 200).map((o) => ({key: o.key, body: o.doc})))
    writeBucketFolder(small, makeSeries(2, 5, {start: Date.UTC(2026, 2, 1)}).map((o) => ({key: o.key, body: o.doc})))
    const r = await runCli(['pull', '--source', big], {env: {FLOWLOG_HOME: home}})
    expect(r.code, r.stderr).to.equal(0)
  })
  after(() => t.cleanup())

  it('a pull behind a long search: "`flowlog search` (pid N) is reading it", then it goes on', async () => {
    const query = Array.from({length: 400}, (_, i) => `zz${i}q`).join(' OR ')
    const search = start(['search', query, '--limit', '5'], home)
    try {
      await until(() => search.done() || (existsSync(readersDir(join(home, 'index.lock'))) && readdirSync(readersDir(join(home, 'index.lock'))).length > 0), 'the search to open the index')
      expect(search.done(), search.stderr()).to.equal(false)
      const pull = start(['pull', '--source', small], home)
      await until(() => pull.done() || /waiting for the index/.test(pull.stderr()), 'the pull to wait')
      expect(pull.stderr()).to.contain(`waiting for the index: \`flowlog search\` (pid ${search.child.pid}) is reading it`)
      search.child.kill('SIGINT')
      expect(await search.exited).to.equal(130)
      expect(await pull.exited, pull.stderr()).to.equal(0)
      // The reader's file went with it.
      expect(readdirSync(readersDir(join(home, 'index.lock')))).to.deep.equal([])
    } finally {
      search.child.kill('SIGKILL')
    }
  })

  it('a second pull behind a pull: "`flowlog pull` (pid N) is writing it"; then it goes on', async () => {
    const writer = start(['pull', '--source', big, '--force'], home)
    try {
      await until(() => writer.done() || existsSync(join(home, 'cache', 'load')), 'the pull to start loading')
      expect(writer.done(), writer.stderr()).to.equal(false)
      const second = start(['pull', '--source', small], home)
      await until(() => second.done() || /waiting for the index/.test(second.stderr()), 'the second pull to wait')
      expect(second.stderr()).to.contain(`waiting for the index: \`flowlog pull\` (pid ${writer.child.pid}) is writing it`)
      expect(await writer.exited, writer.stderr()).to.equal(0)
      expect(await second.exited, second.stderr()).to.equal(0)
    } finally {
      writer.child.kill('SIGKILL')
    }
  })

  it('past the wait: IndexBusyError names the holder; stale reader files are dropped; the command is read from argv', async () => {
    const lockPath = join(t.dir, 'h2', 'index.lock')
    mkdirSync(readersDir(lockPath), {recursive: true})
    writeFileSync(join(readersDir(lockPath), '999999999.json'), JSON.stringify({pid: 999_999_999, command: 'flowlog top', mode: 'read'}))
    writeFileSync(join(readersDir(lockPath), `${process.ppid}.json`), JSON.stringify({pid: process.ppid, command: 'flowlog top', mode: 'read'}))
    const holders = await indexHolders(lockPath)
    expect(holders).to.deep.equal([{pid: process.ppid, command: 'flowlog top', mode: 'read', since: undefined}])
    expect(readdirSync(readersDir(lockPath))).to.deep.equal([`${process.ppid}.json`])
    expect(new IndexBusyError(holders[0]).message).to.equal(`the index is busy: \`flowlog top\` (pid ${process.ppid}) is reading it`)
    expect(new IndexBusyError(undefined).message).to.equal('the index is busy: another process holds the index file')
    expect(currentCommand(['node', 'run.js', 'search', 'action:rejected'])).to.equal('flowlog search')
    expect(currentCommand(['node', 'run.js', 'alert', 'create', 'x'])).to.equal('flowlog alert create')
    expect(currentCommand(['node', 'run.js', '--json'])).to.equal('flowlog')
  })
})
