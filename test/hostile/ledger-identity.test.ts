/** One sink is one ledger and one lock whatever the spelling of its URL (src/lib/sinks/identity.ts). */
import {expect} from 'chai'

import {canonicalDestination} from '../../src/lib/sinks/identity.js'
import {Ledger, ledgerPath} from '../../src/lib/sinks/ledger.js'
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
})
