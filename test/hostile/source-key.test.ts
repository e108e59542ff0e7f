/**
 * The index key is the source's key space and the key (src/lib/store/store.ts): objects of two source folders with the
 * same relative key are two objects, never replacing each other; a re-pull of either skips its own.
 */
import {expect} from 'chai'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {makeObject, makeRecords, makeV1Key, tempDir, writeBucketFile} from '../support/fixtures.js'
import {countRecords, pullFolder} from '../store/helpers.js'

describe('source-qualified index key', function () {
  this.timeout(120_000)

  it('two folders with the same relative key: both kept, each skipped on its re-pull, a --force reload replaces only its own', async () => {
    const t = tempDir('flowlog-source-key-')
    try {
      const home = join(t.dir, 'home')
      const key = makeV1Key({sequence: 3})
      const a = join(t.dir, 'a')
      const b = join(t.dir, 'b')
      writeBucketFile(a, {key, body: makeObject(makeRecords(4, undefined, 1).map((r) => ({...r, initiator_ip: '192.0.2.1'})))})
      writeBucketFile(b, {key, body: makeObject(makeRecords(6, undefined, 2).map((r) => ({...r, initiator_ip: '192.0.2.2'})))})
      expect((await pullFolder(home, a)).objects.loaded).to.equal(1)
      expect((await pullFolder(home, b)).objects.loaded).to.equal(1)
      expect(await countRecords(home)).to.deep.equal({objects: 2, records: 10})
      const again = await pullFolder(home, a)
      expect(again.objects).to.include({loaded: 0, skipped: 1})
      await pullFolder(home, b, {force: true})
      expect(await countRecords(home)).to.deep.equal({objects: 2, records: 10})
      for (const [ip, n] of [['192.0.2.1', 4], ['192.0.2.2', 6]] as const) {
        const r = await runCli(['search', `initiator_ip:==${ip}`, '--output', 'ndjson', '--limit', '0'], {env: {FLOWLOG_HOME: home}})
        expect(r.code, r.stderr).to.equal(0)
        expect(r.stdout.trim().split('\n'), ip).to.have.length(n)
      }
    } finally {
      t.cleanup()
    }
  })
})
