/**
 * A forward ledger that cannot be written (disk full) stops forward at once with exit 5 and the reason, instead of
 * sending everything again on the re-run (docs/sinks.md, "Stopping forward").
 */
import {expect} from 'chai'
import {join} from 'node:path'

import {resolveHome} from '../../src/lib/config/home.js'
import {FlowlogError} from '../../src/lib/errors.js'
import {runForward} from '../../src/lib/sinks/index.js'
import {Ledger} from '../../src/lib/sinks/ledger.js'
import {compileForwardQuery} from '../../src/lib/sinks/query.js'
import {type FakeLogdna, startLogdna} from '../servers/ingest-logdna.js'
import {synthObjects, tempDir, writeObjects} from '../sinks/helpers.js'

const KEY = 'ledger-ingest-key-9a8b7c'

describe('forward: a failed ledger write stops forward at once', function () {
  this.timeout(60_000)
  let fake: FakeLogdna
  let tmp: {dir: string; cleanup: () => void}
  type Writer = {write(text: string): Promise<void>; handle?: {write(text: string): Promise<unknown>; close(): Promise<void>}}
  const proto = Ledger.prototype as unknown as Writer
  const original = proto.write
  beforeEach(() => (tmp = tempDir()))
  afterEach(async () => {
    proto.write = original
    await fake?.close()
    tmp.cleanup()
  })

  it('the third ledger write fails with ENOSPC: exit 5 saying why, at most the batch in flight sent after it', async () => {
    const src = join(tmp.dir, 'src')
    writeObjects(src, synthObjects({objects: 30, recordsPerObject: 40}))
    fake = await startLogdna({ingestionKeys: [KEY]})
    let writes = 0
    proto.write = function (this: Writer, text: string) {
      // The file handle starts failing as a full disk does.
      if (++writes === 3 && this.handle) {
        const real = this.handle
        this.handle = {close: () => real.close(), write: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'}))}
      }
      return original.call(this, text)
    }
    let caught: unknown
    try {
      await runForward(
        {source: src, sink: 'logdna', retryBaseMs: 1, retryCapMs: 2, batchLines: 20, concurrency: 1},
        {
          home: resolveHome({env: {FLOWLOG_HOME: join(tmp.dir, 'home')}}),
          config: {},
          env: {FLOWLOG_LOGDNA_URL: fake.url, FLOWLOG_LOGDNA_INGESTION_KEY: KEY},
          userAgent: 'flowlog/test',
          compileQuery: compileForwardQuery,
          sleep: async () => undefined,
        },
      )
    } catch (error) {
      caught = error
    }
    expect(caught).to.be.instanceOf(FlowlogError)
    expect((caught as FlowlogError).exitCode).to.equal(5)
    expect((caught as Error).message).to.match(/cannot write the forward ledger .*no space left on device.*; forward stopped/)
    // 60 batches in all: the run stopped right after the failed write (one request in flight at most).
    expect(fake.requests.length).to.be.at.most(5)
  })
})
