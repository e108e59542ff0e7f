/**
 * The real `flowlog explore` (needs `npm run build`) in a pseudo-terminal (node-pty), on the demo's index: type a
 * query, see the results, move, pivot (filter in), Esc back, q quits with exit 0; and without a terminal on stdout,
 * exit 2. What the app draws is read back from the terminal output with the escape codes taken out.
 */
import {expect} from 'chai'
import {join} from 'node:path'

import {ROOT, runCli, tempHome} from '../support/cli.js'
import {loadPty, start} from '../support/pty.js'

const ESC = '\u001b'
const DOWN = '\u001b[B'

describe('explore in a pseudo-terminal', function () {
  this.timeout(240_000)
  const pty = loadPty()
  let home: {dir: string; cleanup: () => void}

  before(async function () {
    // node-pty ships prebuilt for this platform (a devDependency); only a platform without it skips.
    if (!pty) this.skip()
    home = tempHome()
    const r = await runCli(['demo'], {env: {FLOWLOG_HOME: home.dir}, timeoutMs: 120_000})
    expect(r.code, r.stderr).to.equal(0)
  })

  after(() => home?.cleanup())

  it('query → results newest first → move → filter in → Esc back → q: exit 0, one index open', async () => {
    const t = start(pty!, [join(ROOT, 'bin', 'run.js'), 'explore', '--json'], {FLOWLOG_HOME: home.dir, NO_COLOR: '1'})
    try {
      await t.waitFor(/query›/)
      await t.waitFor(/type a query/)
      let m = t.mark()
      t.type('action:rejected target_port:22')
      await t.waitFor(/query› action:rejected target_port:22/, m)
      m = t.mark()
      t.type('\r')
      const first = await t.waitFor(/record 1 of \d+ · newest first/, m)
      expect(first).to.match(/› \d{4}-\d\d-\d\dT[\d:]+Z {2}I {2}rejected {2}[\d.]+:\d+ → 10\.240\.0\.4:22/)
      // Down: the second record.
      m = t.mark()
      t.type(DOWN)
      await t.waitFor(/record 2 of \d+/, m)
      // Into the detail pane, down to initiator_ip (start_time, end_time, action, direction, initiator_ip), filter in.
      m = t.mark()
      t.type('\r')
      await t.waitFor(/Up\/Down: a field/, m)
      m = t.mark()
      for (let i = 0; i < 4; i++) t.type(DOWN)
      await t.waitFor(/› initiator_ip\s+[\d.]+/, m)
      m = t.mark()
      t.type('+')
      const pivoted = await t.waitFor(/query› action:rejected target_port:22 initiator_ip:==[\d.]+/, m)
      const shown = await t.waitFor(/record 1 of \d+/, m)
      const ip = /initiator_ip:==([\d.]+)/.exec(pivoted)![1]
      const rows = shown.split('\n').filter((l) => /rejected {2}[\d.]+:\d+ →/.test(l))
      expect(rows.length).to.be.greaterThan(0)
      for (const r of rows) expect(r).to.contain(`${ip}:`)
      // Esc: out of the list, back to the previous query, the second record still selected.
      m = t.mark()
      t.type(ESC)
      await t.waitFor(/record 2 of \d+ · newest first · back/, m)
      await t.waitFor(/query› action:rejected target_port:22\s*\n/, m)
      m = t.mark()
      t.type('q')
      const {exitCode} = await t.exited
      expect(exitCode, t.output().slice(-2000)).to.equal(0)
      const summary = JSON.parse(/\{[^{}]*"index_opens"[^{}]*\}/.exec(t.output())![0])
      expect(summary).to.include({index_opens: 1, exit_code: 0})
      expect(summary.queries).to.be.at.least(2)
    } finally {
      t.p.kill()
    }
  })

  it('with stdout not a terminal: exit 2, "explore needs a terminal; use search"', async () => {
    const cmd = `"${process.execPath}" "${join(ROOT, 'bin', 'run.js')}" explore > /dev/null; echo "code=$?"`
    const t = start(pty!, ['-c', cmd], {FLOWLOG_HOME: home.dir, NO_COLOR: '1'}, '/bin/sh')
    await t.exited
    expect(t.output()).to.contain('explore needs a terminal; use search')
    expect(t.output()).to.match(/code=2/)
  })
})
