/**
 * Symbolic links in a folder source (needs `npm run build`): followed (the key is the link's path), a loop and a second
 * way to a folder listed already are skipped and named, like a broken link (src/lib/sources/folder.ts).
 */
import {expect} from 'chai'
import {mkdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../support/cli.js'
import {makeSeries, tempDir, writeBucketFolder} from '../support/fixtures.js'
import {countRecords} from '../store/helpers.js'

describe('symbolic links in a folder source (real processes)', function () {
  this.timeout(120_000)

  it('followed with loop detection; what is skipped is counted and named; a re-pull loads nothing twice', async () => {
    const t = tempDir('flowlog-symlinks-')
    try {
      const outside = join(t.dir, 'elsewhere')
      const folder = join(t.dir, 'bucket')
      const home = join(t.dir, 'home')
      const objects = makeSeries(6, 5)
      // Three objects in the folder, three in a folder outside it reached through a link; one file linked alone.
      writeBucketFolder(folder, objects.slice(0, 3).map((o) => ({key: o.key, body: o.doc})))
      writeBucketFolder(outside, objects.slice(3).map((o) => ({key: o.key.replace(/^ibm_vpc_flowlogs_v1\//, ''), body: o.doc})))
      symlinkSync(outside, join(folder, 'ibm_vpc_flowlogs_v1-linked'))
      mkdirSync(join(folder, 'ibm_vpc_flowlogs_v1', 'extra'), {recursive: true})
      // A loop (a link to the folder itself), a second way to the linked folder, a broken link.
      symlinkSync(folder, join(folder, 'ibm_vpc_flowlogs_v1', 'extra', 'loop'))
      symlinkSync(outside, join(folder, 'ibm_vpc_flowlogs_v1', 'extra', 'again'))
      symlinkSync(join(t.dir, 'missing'), join(folder, 'ibm_vpc_flowlogs_v1', 'extra', 'broken'))
      const r = await runCli(['pull', '--source', folder, '--json'], {env: {FLOWLOG_HOME: home}})
      expect(r.code, r.stderr).to.equal(0)
      const summary = JSON.parse(r.stdout) as {skippedPaths: {path: string; reason: string}[]; objects: {loaded: number}}
      expect(summary.objects.loaded).to.equal(6)
      expect([...summary.skippedPaths].sort((a, b) => a.path.localeCompare(b.path))).to.deep.equal([
        {path: 'ibm_vpc_flowlogs_v1/extra/again', reason: 'the same folder as ibm_vpc_flowlogs_v1-linked, listed already'},
        {path: 'ibm_vpc_flowlogs_v1/extra/broken', reason: 'a broken symbolic link'},
        {path: 'ibm_vpc_flowlogs_v1/extra/loop', reason: 'a symbolic link loop (back to .)'},
      ])
      expect(r.stderr).to.contain('skipped ibm_vpc_flowlogs_v1/extra/loop: a symbolic link loop')
      expect(await countRecords(home)).to.deep.equal({objects: 6, records: 30})
      const again = await runCli(['pull', '--source', folder, '--json'], {env: {FLOWLOG_HOME: home}})
      expect(again.code, again.stderr).to.equal(0)
      expect((JSON.parse(again.stdout) as {objects: {skipped: number}}).objects.skipped).to.equal(6)
    } finally {
      t.cleanup()
    }
  })
})
