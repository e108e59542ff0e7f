import {expect} from 'chai'

import {wrapLines} from '../../src/help.js'
import {runCli, tempHome} from '../support/cli.js'

describe('help and command names (real process)', () => {
  const home = tempHome()
  after(() => home.cleanup())
  const env = {FLOWLOG_HOME: home.dir}

  it('a misspelled command exits 2 and suggests the right one', async () => {
    const r = await runCli(['serch'], {env})
    expect(r.code).to.equal(2)
    expect(r.stdout + r.stderr).to.match(/did you mean search\?/)
  })

  it('a misspelled subcommand of a topic is suggested with its topic', async () => {
    const r = await runCli(['alert', 'creat'], {env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.contain('alert create')
  })

  it('a word far from every command says so without a wrong guess', async () => {
    const r = await runCli(['zzzzqqqq'], {env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.contain('"zzzzqqqq" is not a flowlog command')
    expect(r.stderr).to.not.contain('did you mean')
  })

  it('an unknown flag names the nearest one', async () => {
    const r = await runCli(['top', '--bby', 'initiator_ip'], {env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.contain('did you mean --by?')
  })

  it('root help groups commands by task, one line each, within 80 columns', async () => {
    const r = await runCli(['--help'], {env: {...env, COLUMNS: '80'}})
    expect(r.code).to.equal(0)
    const lines = r.stdout.split('\n')
    const at = (title: string): number => lines.indexOf(title)
    for (const title of ['INVESTIGATE', 'PIPELINE', 'SINKS']) expect(at(title), title).to.be.greaterThan(-1)
    const section = (title: string): string[] => {
      const out: string[] = []
      for (let i = at(title) + 1; i < lines.length && lines[i].startsWith('  '); i++) out.push(lines[i].trim().split(/\s+/)[0])
      return out
    }
    expect(section('INVESTIGATE')).to.include.members(['search', 'why-rejected', 'pull', 'demo'])
    expect(section('PIPELINE')).to.include.members(['setup', 'doctor', 'teardown'])
    expect(section('SINKS')).to.include.members(['forward', 'alert'])
    for (const line of lines) expect([...line].length, line).to.be.at.most(80)
  })

  it('wrapLines keeps indentation and never passes the width', () => {
    const out = wrapLines('  alpha beta gamma delta epsilon', 14)
    expect(out.split('\n')).to.deep.equal(['  alpha beta', '  gamma delta', '  epsilon'])
    expect(wrapLines('short', 80)).to.equal('short')
  })
})
