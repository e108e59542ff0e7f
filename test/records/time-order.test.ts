/**
 * pull loads a listing in time order (sources/pull.ts inTimeOrder, docs/architecture.md §3): the hour folder, then
 * the stream and the sequence; keys that are not flow-log keys after the others, in listing order; per chunk.
 */
import {expect} from 'chai'

import {inTimeOrder} from '../../src/lib/sources/pull.js'
import type {SourceObject} from '../../src/lib/sources/types.js'
import {makeV1Key} from '../support/fixtures.js'

const H = (h: number) => Date.UTC(2026, 0, 15, h)

async function order(keys: string[], chunk?: number): Promise<string[]> {
  async function* listing(): AsyncGenerator<SourceObject> {
    for (const key of keys) yield {key, size: 1}
  }
  const out: string[] = []
  for await (const o of inTimeOrder(listing(), chunk)) out.push(o.key)
  return out
}

describe('pull: the listing in time order', () => {
  // Key order: one interface's hours, then the other's.
  const a10 = makeV1Key({vnic_id: 'a', time: H(10), sequence: 1, stream_id: '20260115T100000Z'})
  const a11 = makeV1Key({vnic_id: 'a', time: H(11), sequence: 2, stream_id: '20260115T100000Z'})
  const a11b = makeV1Key({vnic_id: 'a', time: H(11), sequence: 3, stream_id: '20260115T100000Z'})
  const b10 = makeV1Key({vnic_id: 'b', time: H(10), sequence: 7, stream_id: '20260115T095000Z'})
  const b11 = makeV1Key({vnic_id: 'b', time: H(11), sequence: 8, stream_id: '20260115T095000Z'})

  it('sorts by hour folder, then stream and sequence', async () => {
    expect(await order([a10, a11b, a11, b10, b11])).to.deep.equal([b10, a10, b11, a11, a11b])
  })

  it('keeps keys it cannot read after the others, in their listing order', async () => {
    expect(await order(['other/z.gz', a11, 'other/a.gz', a10])).to.deep.equal([a10, a11, 'other/z.gz', 'other/a.gz'])
  })

  it('sorts within chunks of the listing: each chunk in order, the chunks one after another', async () => {
    expect(await order([a11, a10, b11, b10], 2)).to.deep.equal([a10, a11, b10, b11])
  })

  it('yields every object once', async () => {
    const keys = Array.from({length: 50}, (_, i) => makeV1Key({vnic_id: `v${i % 3}`, time: H(i % 5), sequence: i}))
    const out = await order(keys, 7)
    expect([...out].sort()).to.deep.equal([...keys].sort())
  })
})
