import {expect} from 'chai'

import type {JsonObject} from '../../src/lib/records/object.js'
import {editDistance, nearest} from '../../src/lib/suggest.js'
import {protectQueryWords} from '../../src/query-argv.js'
import {runCli, tempHome} from '../support/cli.js'
import {makeObject, makeRecord, makeV1Key, tempDir, writeBucketFolder} from '../support/fixtures.js'

/**
 * Strict input (docs/query-language.md §17): misspelled flags, unknown fields, invalid CIDR blocks and unknown
 * --fields/--sort/--by names are usage errors (exit 2) naming the nearest name, run through the built CLI.
 */
const T0 = Date.UTC(2026, 0, 15, 10, 0)

describe('nearest names (src/lib/suggest.ts)', () => {
  it('counts insertions, deletions, substitutions and transpositions as one edit', () => {
    expect(editDistance('sinse', 'since')).to.equal(1)
    expect(editDistance('target_prot', 'target_port')).to.equal(1)
    expect(editDistance('initator_ip', 'initiator_ip')).to.equal(1)
    expect(editDistance('abc', 'abc')).to.equal(0)
    expect(editDistance('', 'abc')).to.equal(3)
  })
  it('names the nearest candidate within the typo budget, or nothing', () => {
    expect(nearest('limt', ['since', 'limit', 'fields'])).to.equal('limit')
    expect(nearest('initator_ip', ['initiator_ip', 'target_ip'])).to.equal('initiator_ip')
    expect(nearest('lim', ['since', 'limit'])).to.equal('limit')
    expect(nearest('zzzzzz', ['since', 'limit'])).to.equal(undefined)
  })
  it('protectQueryWords: negated clauses and terms stay query words; flag-like typos throw', () => {
    const flags = {limit: {type: 'option' as const}, follow: {type: 'boolean' as const, char: 'f'}, names: {type: 'boolean' as const, allowNo: true}}
    expect(protectQueryWords(['-target_port:67', '-ssh', '-404', '-(a b)', '--limit', '5', '-f', '--no-names'], flags)).to.deep.equal(['--limit', '5', '-f', '--no-names', '--', '-target_port:67', '-ssh', '-404', '-(a b)'])
    expect(protectQueryWords(['a', '--', '--sinse'], flags)).to.deep.equal(['a', '--', '--sinse'])
    expect(() => protectQueryWords(['--sinse'], {...flags, since: {type: 'option'}})).to.throw(/did you mean --since\?/)
    expect(() => protectQueryWords(['-l'], flags)).to.throw(/unknown flag -l \(did you mean --limit\?\)/)
    expect(() => protectQueryWords(['-limt'], flags)).to.throw(/did you mean --limit\?/)
    expect(() => protectQueryWords(['-limit'], flags)).to.throw(/did you mean --limit\?/)
  })
})

describe('strict input (CLI)', function () {
  this.timeout(180_000)
  const data = tempDir('flowlog-strict-data-')
  const home = tempHome('flowlog-strict-home-')
  const env = {FLOWLOG_HOME: home.dir}
  const records: JsonObject[] = [
    makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4', target_port: 22, action: 'rejected', bytes_from_initiator: 180, bytes_from_target: 0}, T0 + 1000),
    makeRecord({initiator_ip: '24.22.68.94', target_ip: '10.240.0.4', target_port: 3000, action: 'accepted', bytes_from_initiator: 100, bytes_from_target: 5000}, T0 + 2000),
    makeRecord({initiator_ip: '10.240.0.1', target_ip: '10.240.0.4', target_port: 67, action: 'rejected', bytes_from_initiator: 4000, bytes_from_target: 0}, T0 + 3000),
    // Irregular: a field of its own, which queries may use without a warning.
    makeRecord({initiator_ip: '203.0.113.9', target_ip: '10.240.0.4', target_port: 22, action: 'rejected', vpc_internal: false}, T0 + 4000),
  ]
  const run = (args: string[]) => runCli(args, {env})

  before(async () => {
    writeBucketFolder(data.dir, [{key: makeV1Key({time: T0}), body: makeObject(records, {start: T0})}])
    const pulled = await run(['pull', '--source', data.dir])
    expect(pulled.code, pulled.stderr).to.equal(0)
  })
  after(() => {
    data.cleanup()
    home.cleanup()
  })

  it('a misspelled flag is exit 2 naming the nearest flag, never query text', async () => {
    const r = await run(['search', 'action:rejected', '--sinse', '1h'])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('unknown flag --sinse (did you mean --since?)')
    expect(r.stdout).to.equal('')
    const limt = await run(['search', 'action:rejected', '--limt', '5'])
    expect(limt.code).to.equal(2)
    expect(limt.stderr).to.include('--limit')
    for (const [cmd, typo, flag] of [['stats', '--sinse', '--since'], ['explore', '--limt', '--limit']]) {
      const s = await run([cmd, 'action:rejected', typo, '1'])
      expect(s.code, cmd).to.equal(2)
      expect(s.stderr, cmd).to.include(`did you mean ${flag}?`)
    }
    const short = await run(['search', '-target_port:67', '-l'])
    expect(short.code).to.equal(2)
    expect(short.stderr).to.include('unknown flag -l')
    // Commands without a query argument: oclif's unknown-flag error names the nearest flag too.
    const top = await run(['top', '--by', 'action', '--sinse', '1h'])
    expect(top.code).to.equal(2)
    expect(top.stderr).to.include('unknown flag --sinse (did you mean --since?)')
    const single = await run(['search', 'action:rejected', '-since', '1h'])
    expect(single.code).to.equal(2)
    expect(single.stderr).to.include('did you mean --since?')
  })

  it('negation stays: -field:value clauses and -word terms, and words after a lone --', async () => {
    const r = await run(['search', '-target_port:67', '-accepted', '--output', 'ndjson'])
    expect(r.code, r.stderr).to.equal(0)
    const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonObject)
    // Newest first (the default order of a page).
    expect(got.map((x) => x.initiator_ip)).to.deep.equal(['203.0.113.9', '24.22.68.94'])
    const stats = await run(['stats', '-target_port:67', '--no-names', '--json'])
    expect(stats.code, stats.stderr).to.equal(0)
    const escaped = await run(['search', '--', '--sinse'])
    expect(escaped.code, escaped.stderr).to.equal(0)
    expect(escaped.stderr).to.match(/no records match/)
  })

  it('an unknown field is a warning naming the nearest known field, an error with --strict', async () => {
    const r = await run(['search', 'target_prot:22'])
    expect(r.code).to.equal(0)
    expect(r.stderr).to.match(/no record has a field target_prot \(did you mean target_port\?\)/)
    const strict = await run(['search', 'target_prot:22', '--strict'])
    expect(strict.code).to.equal(2)
    expect(strict.stderr).to.include('target_port')
    const stats = await run(['stats', 'target_prot:22', '--strict'])
    expect(stats.code).to.equal(2)
    // A field an (irregular) record of the index has is no warning.
    const own = await run(['search', 'vpc_internal:*', '--strict', '--output', 'ndjson'])
    expect(own.code, own.stderr).to.equal(0)
    expect(own.stderr).not.to.include('no record has')
    expect(own.stdout.trim().split('\n')).to.have.length(1)
    const top = await run(['top', '--by', 'action', '--query', 'target_prot:22'])
    expect(top.stderr).to.include('did you mean target_port?')
  })

  it('an invalid CIDR block is a syntax error with its column', async () => {
    const r = await run(['search', 'target_ip:10.0.0.0/33'])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('syntax error at column 10: 10.0.0.0/33 is not a valid IPv4 CIDR block')
    const octet = await run(['search', 'initiator_ip:300.1.2.3/8'])
    expect(octet.code).to.equal(2)
    expect(octet.stderr).to.include('column 13')
  })

  it('top --by, --fields and --sort take known fields only; --sort bytes is both directions', async () => {
    const by = await run(['top', '--by', 'initator_ip'])
    expect(by.code).to.equal(2)
    expect(by.stderr).to.include('did you mean initiator_ip?')
    const fields = await run(['search', '--fields', 'start_time,nosuch'])
    expect(fields.code).to.equal(2)
    expect(fields.stderr).to.include('--fields: unknown field nosuch')
    const sort = await run(['search', '--sort', 'target_prot'])
    expect(sort.code).to.equal(2)
    expect(sort.stderr).to.include('did you mean target_port?')
    const bytes = await run(['search', '--sort', 'bytes:desc', '--output', 'ndjson'])
    expect(bytes.code, bytes.stderr).to.equal(0)
    const got = bytes.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonObject)
    const total = (x: JsonObject) => Number(x.bytes_from_initiator ?? 0) + Number(x.bytes_from_target ?? 0)
    expect(got.map(total)).to.deep.equal([5100, 4000, 180, total(got[3])])
    const asc = await run(['search', '--sort', 'bytes', '--output', 'ndjson'])
    expect(asc.stdout.trim().split('\n').map((l) => total(JSON.parse(l) as JsonObject))).to.deep.equal([...got.map(total)].sort((a, b) => a - b))
  })
})
