import {expect} from 'chai'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {FlowlogError} from '../../src/lib/errors.js'
import {Ledger, ledgerPath, sameVersion} from '../../src/lib/sinks/ledger.js'
import {tempDir} from './helpers.js'

const ID = {sink: 'logdna', destination: 'https://logs.us-south.logging.cloud.ibm.com/logs/ingest'}
const obj = (n: number, extra: {etag?: string; size?: number; mtime?: number} = {size: 100 + n, mtime: 1000 + n}) => ({key: `ibm_vpc_flowlogs_v1/k/${n}.gz`, ...extra})

describe('sinks: the forward ledger', () => {
  let tmp: {dir: string; cleanup: () => void}
  beforeEach(() => (tmp = tempDir('flowlog-ledger-')))
  afterEach(() => tmp.cleanup())

  it('done objects survive a reopen; a changed object (ETag, or size/mtime) is not done; the file is 0600', async () => {
    const a = await Ledger.open(tmp.dir, ID)
    await a.markDone([{obj: obj(1), lines: 3}, {obj: obj(2, {etag: 'e2', size: 5}), lines: 1}])
    await a.close()
    expect(statSync(a.path).mode & 0o777).to.equal(0o600)
    const b = await Ledger.open(tmp.dir, ID)
    expect(b.isDone(obj(1))).to.equal(true)
    expect(b.isDone({...obj(1), mtime: 5})).to.equal(false)
    expect(b.isDone(obj(2, {etag: 'e2'}))).to.equal(true)
    expect(b.isDone(obj(2, {etag: 'e3', size: 5}))).to.equal(false)
    expect(b.isDone(obj(2, {size: 5, mtime: 9}))).to.equal(true)
    expect(b.isDone(obj(3))).to.equal(false)
    await b.close()
    const lines = readFileSync(a.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines[0]).to.include({ledger: 1, sink: 'logdna', destination: ID.destination})
    expect(lines[1]).to.include({key: obj(1).key, size: 101, mtime: 1001, lines: 3})
  })

  it('partial acknowledgements are kept until the object is done; per sink, destination and query', async () => {
    const a = await Ledger.open(tmp.dir, ID)
    await a.markPartial([{obj: obj(1), indices: [0, 1, 2, 5]}])
    await a.markPartial([{obj: obj(1), indices: [3]}])
    await a.close()
    const b = await Ledger.open(tmp.dir, ID)
    expect([...(b.acked(obj(1)) ?? [])].sort()).to.deep.equal([0, 1, 2, 3, 5])
    expect(b.acked({...obj(1), size: 1})).to.equal(undefined)
    await b.markDone([{obj: obj(1), lines: 6}])
    await b.close()
    const c = await Ledger.open(tmp.dir, ID, {readOnly: true})
    expect(c.acked(obj(1))).to.equal(undefined)
    expect(c.isDone(obj(1))).to.equal(true)
    expect(ledgerPath(tmp.dir, ID)).not.to.equal(ledgerPath(tmp.dir, {...ID, query: 'action:rejected'}))
    expect(ledgerPath(tmp.dir, ID)).not.to.equal(ledgerPath(tmp.dir, {...ID, sink: 'cloud-logs'}))
  })

  it('a live forwarder holds the lock; a stale lock (dead process) is taken over', async () => {
    const lock = `${ledgerPath(tmp.dir, ID)}.lock`
    const a = await Ledger.open(tmp.dir, ID)
    expect(readFileSync(lock, 'utf8')).to.equal(String(process.pid))
    await a.close()
    // Another process (pid 4242, alive) holds it.
    writeFileSync(lock, '4242')
    let error: unknown
    try {
      await Ledger.open(tmp.dir, ID, {isAlive: (pid) => pid === 4242})
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(FlowlogError)
    expect((error as FlowlogError).code).to.equal('busy')
    expect((error as FlowlogError).message).to.contain('4242')
    // Its process died (kill -9): the lock is taken over.
    const b = await Ledger.open(tmp.dir, ID, {isAlive: () => false})
    await b.close()
  })

  it('a ledger mostly made of superseded entries is compacted on open, keeping what matters', async () => {
    const a = await Ledger.open(tmp.dir, ID)
    for (let i = 0; i < 600; i++) await a.markPartial([{obj: obj(i), indices: [0]}])
    for (let i = 0; i < 600; i++) await a.markPartial([{obj: obj(i), indices: [1]}])
    for (let i = 0; i < 600; i++) await a.markDone([{obj: obj(i), lines: 2}])
    await a.markPartial([{obj: obj(9999), indices: [4, 5]}])
    await a.close()
    const before = readFileSync(a.path, 'utf8').trim().split('\n').length
    const b = await Ledger.open(tmp.dir, ID)
    await b.close()
    const after = readFileSync(a.path, 'utf8').trim().split('\n').length
    expect(before).to.equal(1802)
    expect(after).to.equal(602)
    const c = await Ledger.open(tmp.dir, ID, {readOnly: true})
    expect(c.size).to.equal(600)
    expect([...(c.acked(obj(9999)) ?? [])]).to.deep.equal([4, 5])
    expect(statSync(a.path).mode & 0o777).to.equal(0o600)
  })

  it('sameVersion: ETags when both sides have one, else size and (when both have it) mtime', () => {
    expect(sameVersion({etag: 'a'}, {etag: 'a', size: 1})).to.equal(true)
    expect(sameVersion({etag: 'a', size: 1}, {etag: 'b', size: 1})).to.equal(false)
    expect(sameVersion({size: 1}, {size: 1, mtime: 2})).to.equal(true)
    expect(sameVersion({size: 1, mtime: 3}, {size: 1, mtime: 2})).to.equal(false)
    expect(sameVersion({etag: 'a'}, {size: 1})).to.equal(false)
    expect(join('a', 'b')).to.equal('a/b')
  })
})
