import {expect} from 'chai'
import {PassThrough} from 'node:stream'

import {UsageError} from '../../src/lib/errors.js'
import {createCloudClients} from '../../src/lib/ibmcloud/clients.js'
import {type Choice, createInquirerPrompter, type Prompter} from '../../src/lib/pipeline/prompter.js'
import {runWizard} from '../../src/lib/pipeline/wizard.js'
import {type Fixture, fixture} from './helpers.js'

interface Asked {
  kind: string
  message: string
  choices?: string[]
  default?: unknown
}

/** A prompter answering from a script (by question order) and recording what was asked. */
function scripted(answers: unknown[]): {prompter: Prompter; asked: Asked[]} {
  const asked: Asked[] = []
  const next = () => {
    if (answers.length === 0) throw new Error(`unexpected question after ${asked.map((a) => a.message).join(' | ')}`)
    return answers.shift()
  }
  const prompter: Prompter = {
    async select<T extends string>(o: {message: string; choices: Choice<T>[]; default?: T}) {
      asked.push({kind: 'select', message: o.message, choices: o.choices.map((c) => c.value), default: o.default})
      const a = next()
      return (a === undefined ? o.default ?? o.choices[0].value : a) as T
    },
    async input(o) {
      asked.push({kind: 'input', message: o.message, default: o.default})
      const a = next() as string | undefined
      const value = a ?? o.default ?? ''
      const v = o.validate?.(value)
      if (v !== undefined && v !== true) throw new Error(`validation: ${v}`)
      return value
    },
    async password(o) {
      asked.push({kind: 'password', message: o.message})
      return next() as string
    },
    async confirm(o) {
      asked.push({kind: 'confirm', message: o.message})
      return next() as boolean
    },
  }
  return {prompter, asked}
}

describe('setup wizard', function () {
  this.timeout(30_000)
  let f: Fixture
  beforeEach(async () => {
    f = await fixture()
  })
  afterEach(async () => {
    await f.close()
  })
  const clientsFor = (region: string) => createCloudClients({region, env: f.env})

  it('asks region, resource group, basename, target, bucket, sink and trigger, offering what the account has', async () => {
    const {prompter, asked} = scripted(['us-south', 'flowlogs-rg', 'mylogs', 'instance:0717_2c984e95-b391-4a09-8e92-80feada442a3', undefined, undefined, 'cos-subscription'])
    const a = await runWizard({prompter, env: f.env, clientsFor})
    expect(asked.map((q) => q.kind)).to.deep.equal(['select', 'select', 'input', 'select', 'input', 'select', 'select'])
    expect(asked[1].choices).to.deep.equal(['default', 'flowlogs-rg'])
    expect(asked[1].default).to.equal('default')
    // One VPC in the region: not asked. Targets: the VPC, its two subnets, its two instances.
    expect(asked[3].choices).to.have.length(5)
    expect(asked[3].choices![0]).to.equal('vpc')
    expect(asked[4].default).to.equal('mylogs-flowlogs-713c783d')
    expect(asked[5].default).to.equal('cloud-logs')
    expect(a).to.deep.include({
      region: 'us-south',
      resourceGroup: 'flowlogs-rg',
      basename: 'mylogs',
      target: 'instance:0717_2c984e95-b391-4a09-8e92-80feada442a3',
      bucket: 'mylogs-flowlogs-713c783d',
      sink: 'cloud-logs',
      trigger: 'cos-subscription',
    })
    // The answers drive a real setup.
    const r = await f.setup({...a, sourceRepo: 'https://github.com/flowlog-dev/flowlog.git'})
    expect(f.cloud.vpc.state.flow_log_collectors[0].target.resource_type).to.equal('instance')
    expect(r.steps.find((s) => s.name === 'trigger')!.action).to.equal('skipped')
  })

  it('does not ask what flags already answered', async () => {
    const {prompter, asked} = scripted(['flowlogs-vpc-target-unused'])
    asked.length = 0
    const a = await runWizard({
      prompter,
      env: f.env,
      clientsFor,
      initial: {region: 'us-south', resourceGroup: 'default', basename: 'x1', target: 'vpc', bucket: 'x1-bucket', sink: 'none'},
    })
    expect(asked.map((q) => q.message)).to.deep.equal(['How should the forwarder find new objects?'])
    expect(a).to.include({basename: 'x1', bucket: 'x1-bucket', sink: 'none', trigger: 'flowlogs-vpc-target-unused'})
  })

  it('asks the Log Analysis ingestion key as a password unless the environment has it', async () => {
    const s1 = scripted(['secret-ingestion-key-1', 'poll'])
    const a1 = await runWizard({prompter: s1.prompter, env: f.env, clientsFor, initial: {region: 'us-south', resourceGroup: 'default', basename: 'x', target: 'vpc', bucket: 'x-b12', sink: 'logdna'}})
    expect(s1.asked.map((q) => q.kind)).to.deep.equal(['password', 'select'])
    expect(a1.logdnaIngestionKey).to.equal('secret-ingestion-key-1')
    const s2 = scripted(['poll'])
    const a2 = await runWizard({
      prompter: s2.prompter,
      env: {...f.env, FLOWLOG_LOGDNA_INGESTION_KEY: 'from-env-key-123'},
      clientsFor,
      initial: {region: 'us-south', resourceGroup: 'default', basename: 'x', target: 'vpc', bucket: 'x-b12', sink: 'logdna'},
    })
    expect(s2.asked.map((q) => q.kind)).to.deep.equal(['select'])
    expect(a2.logdnaIngestionKey).to.equal('from-env-key-123')
  })

  it('validates the basename and bucket as they are typed', async () => {
    const {prompter} = scripted(['us-south', 'default', 'Bad Name!'])
    const e = await runWizard({prompter, env: f.env, clientsFor}).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(String(e)).to.match(/validation: .*basename/)
  })

  it('a region without a VPC is a usage error', async () => {
    f.cloud.vpc.state.vpcs.length = 0
    const {prompter} = scripted(['default', 'x'])
    const e = await runWizard({prompter, env: f.env, clientsFor, initial: {region: 'us-south'}}).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(e).to.be.instanceOf(UsageError)
  })

  it('drives the real inquirer prompts through injected streams', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let screen = ''
    output.on('data', (d: Buffer) => (screen += d.toString('utf8')))
    const prompter = createInquirerPrompter({input, output})
    // question text → keys to send once it is on screen
    const script: Array<[RegExp, string]> = [
      [/Region of the VPC/, '\r'], // default us-south
      [/Resource group/, '\x1b[B\r'], // down: flowlogs-rg
      [/Base name/, 'wiz\r'],
      [/What should the flow log collector watch/, '\r'], // the whole VPC
      [/Bucket for the flow logs/, '\r'], // default name
      [/Where should flow logs be forwarded/, '\x1b[B\x1b[B\r'], // none
      [/How should the forwarder find new objects/, '\r'], // poll
    ]
    let seen = 0
    const timer = setInterval(() => {
      if (seen < script.length && script[seen][0].test(screen)) {
        const keys = script[seen][1]
        seen += 1
        screen = ''
        for (const ch of keys.match(/\x1b\[[A-D]|./gs) ?? []) input.write(ch)
      }
    }, 5)
    try {
      const a = await runWizard({prompter, env: f.env, clientsFor})
      expect(seen).to.equal(script.length)
      expect(a).to.deep.include({region: 'us-south', resourceGroup: 'flowlogs-rg', basename: 'wiz', target: 'vpc', bucket: 'wiz-flowlogs-713c783d', sink: 'none', trigger: 'poll'})
    } finally {
      clearInterval(timer)
    }
  })
})
