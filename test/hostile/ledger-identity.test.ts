/** One sink is one ledger and one lock whatever the spelling of its URL (src/lib/sinks/identity.ts). */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'

import {canonicalDestination} from '../../src/lib/sinks/identity.js'
import {credentialHash, Ledger, ledgerPath} from '../../src/lib/sinks/ledger.js'
import {tempDir} from '../sinks/helpers.js'

describe('ledger identity', () => {
  it('localhost and loopback addresses, default ports, case, trailing and duplicate slashes are one sink', () => {
    const spellings = [
      'http://localhost:8080/logs/ingest',
      'http://127.0.0.1:8080/logs/ingest',
      'http://[::1]:8080/logs/ingest/',
      'HTTP://LOCALHOST:8080//logs/ingest',
    ]
    const paths = new Set(spellings.map((d) => ledgerPath('/c', {sink: 'logdna', destination: d})))
    expect(paths.size).to.equal(1)
    expect(canonicalDestination('https://logs.us-south.logging.cloud.ibm.com:443/logs/ingest')).to.equal('https://logs.us-south.logging.cloud.ibm.com/logs/ingest')
    expect(canonicalDestination('https://user:secret@host.example/x')).not.to.contain('secret')
    expect(ledgerPath('/c', {sink: 'logdna', destination: 'http://localhost:8081/logs/ingest'})).not.to.equal([...paths][0])
    expect(ledgerPath('/c', {sink: 'logdna', destination: 'http://10.0.0.1:8080/logs/ingest'})).not.to.equal([...paths][0])
  })

  it('a ledger opened under one spelling is the file (and lock) of every other spelling', async () => {
    const tmp = tempDir()
    try {
      const first = await Ledger.open(tmp.dir, {sink: 'logdna', destination: 'http://localhost:9000/logs/ingest'})
      await first.close()
      expect(ledgerPath(tmp.dir, {sink: 'logdna', destination: 'http://127.0.0.1:9000/logs/ingest/'})).to.equal(first.path)
    } finally {
      tmp.cleanup()
    }
  })

  it('the credential is part of the identity as a salted hash: two ingestion keys at one URL are two ledgers, the key is never written', async () => {
    const tmp = tempDir()
    try {
      const url = 'https://logs.mezmo.com/logs/ingest'
      const a = ledgerPath(tmp.dir, {sink: 'logdna', destination: url, credential: 'key-of-account-a-0123456789'})
      const b = ledgerPath(tmp.dir, {sink: 'logdna', destination: url, credential: 'key-of-account-b-0123456789'})
      expect(a).not.to.equal(b)
      expect(ledgerPath(tmp.dir, {sink: 'logdna', destination: 'https://LOGS.mezmo.com:443/logs/ingest/', credential: 'key-of-account-a-0123456789'})).to.equal(a)
      const ledger = await Ledger.open(tmp.dir, {sink: 'logdna', destination: url, credential: 'key-of-account-a-0123456789'})
      await ledger.close()
      expect(ledger.path).to.equal(a)
      const text = readFileSync(a, 'utf8')
      expect(text).not.to.contain('key-of-account-a')
      expect(JSON.parse(text.split('\n')[0]).credential_hash).to.equal(credentialHash('key-of-account-a-0123456789'))
      expect(a).not.to.contain(credentialHash('key-of-account-a-0123456789')!)
    } finally {
      tmp.cleanup()
    }
  })

  it('a ledger of the version before the credential hash is taken over by the first run with a key', async () => {
    const tmp = tempDir()
    try {
      const id = {sink: 'logdna', destination: 'http://localhost:9100/logs/ingest'}
      const old = ledgerPath(tmp.dir, id)
      writeFileSync(old, '{"ledger":1}\n{"key":"ibm_vpc_flowlogs_v1/a","etag":"e","size":1,"mtime":null,"lines":1,"done_at":"2026-01-01T00:00:00Z"}\n')
      const ledger = await Ledger.open(tmp.dir, {...id, credential: 'k-123'})
      expect(ledger.path).not.to.equal(old)
      expect(ledger.isDone({key: 'ibm_vpc_flowlogs_v1/a', etag: 'e'})).to.equal(true)
      await ledger.close()
    } finally {
      tmp.cleanup()
    }
  })
})
