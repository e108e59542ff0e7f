import {input, select} from '@inquirer/prompts'
import {expect} from 'chai'
import {Chalk} from 'chalk'
import {readFileSync} from 'node:fs'
import {PassThrough, Writable} from 'node:stream'

import {
  type Choice,
  explore,
  type ExplorePrompts,
  fileHistory,
  historyFile,
  storeData,
  whyRejectedArgs,
} from '../../src/lib/ui/explore.js'
import {makeObject, makeRecord, makeV1Key} from '../support/fixtures.js'
import {type Dataset, loadDataset, type LoadedHome} from './helpers.js'

const c = new Chalk({level: 0})
const T = Date.UTC(2026, 0, 15, 10, 0)

/** A small scenario: a scanner rejected on 22 and 3389, a laptop accepted on 3000, vsi2's DNS. */
function scenario(): Dataset {
  const recs = [
    makeRecord({initiator_ip: '92.63.197.61', target_ip: '10.240.0.4', target_port: 22, action: 'rejected'}, T + 1000),
    makeRecord({initiator_ip: '92.63.197.61', target_ip: '10.240.0.4', target_port: 3389, action: 'rejected'}, T + 2000),
    makeRecord({initiator_ip: '92.63.197.61', target_ip: '10.240.0.4', target_port: 22, action: 'rejected'}, T + 3000),
    makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4', target_port: 3000, action: 'accepted', bytes_from_target: 5000}, T + 4000),
    makeRecord({initiator_ip: '10.240.64.4', target_ip: '161.26.0.10', target_port: 53, action: 'accepted', direction: 'O'}, T + 5000),
  ]
  const key = makeV1Key({time: T})
  return {objects: [{key, doc: makeObject(recs, {start: T})}], rows: []}
}

/** Prompts that answer from a script; each answer is checked against what was offered. */
function scripted(script: (string | ((choices: Choice<unknown>[]) => unknown))[]): ExplorePrompts & {messages: string[]; offered: string[][]} {
  const messages: string[] = []
  const offered: string[][] = []
  const next = () => {
    if (script.length === 0) throw Object.assign(new Error('script ended'), {name: 'ExitPromptError'})
    return script.shift()!
  }
  return {
    messages,
    offered,
    async input(config) {
      messages.push(config.message)
      const a = next()
      if (typeof a !== 'string') throw new Error(`expected an input answer for ${config.message}`)
      return a
    },
    async select<T>(config: {message: string; choices: Choice<T>[]}) {
      messages.push(config.message)
      offered.push(config.choices.map((ch) => ch.name))
      const a = next()
      if (typeof a === 'function') return a(config.choices as Choice<unknown>[]) as T
      const found = config.choices.find((ch) => ch.name === a || ch.name.startsWith(a))
      if (!found) throw new Error(`no choice ${a} in ${config.choices.map((ch) => ch.name).join(' | ')}`)
      return found.value
    },
  }
}

describe('investigation: explore (interactive)', function () {
  this.timeout(60_000)
  let loaded: LoadedHome

  before(async () => {
    loaded = await loadDataset(scenario())
  })

  after(() => loaded?.cleanup())

  it('query → table → record details → pivots (initiator, why-rejected, top ports), with history kept in the home', async () => {
    const printed: string[] = []
    const prompts = scripted([
      'action:rejected',
      (choices) => choices[0].value, // pick a record: the newest rejected one
      'All traffic from this initiator',
      (choices) => choices.find((ch) => String(ch.name).includes(':3389'))!.value,
      'Why was this rejected?',
      'Top ports for this target',
      'New query',
      ':h',
      'action:rejected',
      'Quit',
    ])
    const summary = await explore({
      prompts,
      data: storeData(loaded.home),
      history: fileHistory(historyFile(loaded.home)),
      out: (t) => printed.push(t),
      c,
      names: new Map([['10.240.0.4', 'flowlogs-vsi1/eth0']]),
      unicode: false,
    })
    const text = printed.join('\n')
    expect(summary).to.deep.equal({queries: 3, interrupted: false})
    // The first table: the 3 rejected records, names beside vsi1's IP.
    expect(printed[0]).to.contain('92.63.197.61')
    expect(printed[0]).to.contain('(flowlogs-vsi1/eth0)')
    expect(printed[0]).to.not.contain('24.22.68.94')
    expect(text).to.contain('3 matches')
    // Details of the picked record: every field.
    expect(text).to.match(/record at 2026-01-15T10:00:03Z/)
    expect(text).to.match(/cumulative_packets_from_target\s+0/)
    expect(text).to.match(/key\s+ibm_vpc_flowlogs_v1\//)
    // The pivot offers: initiator, why (rejected), top ports, back, new, quit.
    expect(prompts.offered[1]).to.deep.equal([
      'All traffic from this initiator (initiator_ip:==92.63.197.61)',
      'Why was this rejected?',
      'Top ports for this target (target_ip:==10.240.0.4)',
      'Back to the results',
      'New query',
      'Quit',
    ])
    // why-rejected is not built in here: the command to run is printed.
    expect(text).to.contain('flowlog why-rejected --ip 92.63.197.61 --port 3389 --protocol tcp --target-ip 10.240.0.4')
    // Top ports for vsi1: 22 twice, then 3000 and 3389 once (ties by value).
    const top = printed.find((p) => p.includes('target_port') && p.includes('flows'))!
    const order = top
      .split('\n')
      .filter((l) => l.startsWith('│'))
      .slice(1)
      .map((l) => l.split('│')[1].trim())
    expect(order).to.deep.equal(['22', '3000', '3389'])
    // History: newest first, no duplicates; `:h` offered it.
    expect(JSON.parse(readFileSync(historyFile(loaded.home), 'utf8'))).to.deep.equal(['action:rejected', 'initiator_ip:==92.63.197.61'])
    expect(prompts.offered.some((o) => o.includes('initiator_ip:==92.63.197.61') && o.includes('back'))).to.equal(true)
  })

  it('calls why-rejected when it is available, and shows syntax errors without leaving', async () => {
    const calls: string[][] = []
    const printed: string[] = []
    const prompts = scripted(['target_port:(22', 'target_port:22', (ch) => ch[0].value, 'Why was this rejected?', 'Quit'])
    await explore({
      prompts,
      data: storeData(loaded.home),
      history: {load: async () => [], add: async () => undefined},
      out: (t) => printed.push(t),
      c,
      whyRejected: async (args) => {
        calls.push(args)
      },
    })
    expect(printed[0]).to.match(/syntax error/)
    expect(calls).to.deep.equal([['--ip', '92.63.197.61', '--port', '22', '--protocol', 'tcp', '--target-ip', '10.240.0.4']])
  })

  it('Ctrl-C in a prompt ends the session cleanly', async () => {
    const prompts = scripted([]) // the first prompt throws ExitPromptError, as inquirer does on Ctrl-C
    const summary = await explore({prompts, data: storeData(loaded.home), history: {load: async () => [], add: async () => undefined}, out: () => undefined, c})
    expect(summary).to.deep.equal({queries: 0, interrupted: true})
  })

  it('drives the real @inquirer/prompts through streams: type a query, pick, quit; no colour codes', async () => {
    const keys = new PassThrough()
    let screen = ''
    // Each prompt pipes into the output and ends it when done (harmless for stdout/stderr): keep this one open.
    const output = new Writable({
      write(chunk, _enc, cb) {
        screen += chunk.toString()
        cb()
      },
    })
    output.end = (() => output) as typeof output.end
    const printed: string[] = []
    const waitFor = async (text: string, from: number) => {
      for (let i = 0; i < 400; i++) {
        if (screen.indexOf(text, from) !== -1) return
        await new Promise((r) => setTimeout(r, 10))
      }
      throw new Error(`prompt ${text} never shown; screen: ${screen.slice(-500)}`)
    }
    const session = explore({
      prompts: {input, select} as unknown as ExplorePrompts,
      context: {input: keys, output},
      data: storeData(loaded.home),
      history: {load: async () => [], add: async () => undefined},
      out: (t) => printed.push(t),
      c,
      unicode: false,
    })
    await waitFor('Query', 0)
    keys.write('target_port:53\r')
    let mark = screen.length
    await waitFor('Pick a record', mark)
    keys.write('\r') // the first (only) record
    mark = screen.length
    await waitFor('Next', mark)
    keys.write('\u001b[B\u001b[B\u001b[B\u001b[B') // down to "Quit" (initiator, top ports, back, new, quit)
    keys.write('\r')
    const summary = await session
    expect(summary.queries).to.equal(1)
    expect(printed[0]).to.contain('161.26.0.10:53')
    expect(printed.join('\n')).to.not.match(/\u001b\[3\dm/)
  })

  it('why-rejected arguments come from the record', () => {
    expect(whyRejectedArgs(makeRecord({initiator_ip: '1.2.3.4', target_port: 22, target_ip: '10.0.0.1'}))).to.deep.equal(['--ip', '1.2.3.4', '--port', '22', '--protocol', 'tcp', '--target-ip', '10.0.0.1'])
    // Outbound: the other end is the target, our interface the initiator.
    expect(whyRejectedArgs(makeRecord({direction: 'O', initiator_ip: '10.0.0.1', target_ip: '161.26.0.6', target_port: 123, transport_protocol: 17}))).to.deep.equal([
      '--ip',
      '161.26.0.6',
      '--port',
      '123',
      '--protocol',
      'udp',
      '--target-ip',
      '10.0.0.1',
    ])
  })
})
