import {expect} from 'chai'
import {Chalk} from 'chalk'

import {recordColumns, recordTable, TableStream, writeTable} from '../../src/lib/ui/records.js'

const c = new Chalk({level: 0})
const row = (i: number, ip = `10.0.0.${i}`) => ({row: {direction: 'I', action: 'rejected', initiator_ip: ip, initiator_port: 1000 + i, target_ip: '10.240.0.4', target_port: 22, transport_protocol: 6, bytes_from_initiator: 10, bytes_from_target: 0}, time: 't'})

describe('the streaming table (TableStream, writeTable)', () => {
  it('writes the rows of the first page at once and each later row as it comes, with the first page\'s widths', () => {
    const lines: string[] = []
    const t = new TableStream(recordColumns(c), c, (s) => lines.push(s), {firstPage: 2})
    t.push(row(1).row, 't')
    expect(lines).to.have.length(0)
    t.push(row(2).row, 't')
    expect(lines.join('')).to.contain('10.0.0.2:1002')
    const before = lines.length
    t.push(row(3, '192.168.100.200').row, 't')
    expect(lines.length).to.equal(before + 1)
    // Wider than the first page: cut to the column's width, ending in an ellipsis.
    expect(lines.at(-1)).to.contain('192.168.100.…').and.not.contain('192.168.100.200')
    expect(t.end()).to.equal(true)
    const all = lines.join('').trimEnd().split('\n')
    const width = all[0].length
    for (const l of all) expect(l.length).to.equal(width)
  })

  it('writeTable takes an async iterable and counts rows; an empty table writes nothing', async () => {
    async function* rows() {
      for (let i = 0; i < 250; i++) yield row(i)
    }
    const out: string[] = []
    expect(await writeTable(rows(), recordColumns(c), c, (s) => out.push(s))).to.equal(250)
    expect(out.join('').split('\n').filter(Boolean)).to.have.length(250 + 3)
    const none: string[] = []
    expect(await writeTable([], recordColumns(c), c, (s) => none.push(s))).to.equal(0)
    expect(none).to.have.length(0)
  })

  it('recordTable keeps the box look of the other tables', () => {
    const s = recordTable([row(1)], c)
    expect(s.split('\n')[0]).to.match(/^┌─+┬/)
    expect(s.split('\n')[1]).to.match(/^│ time +│ dir │ action +│ initiator/)
    expect(s.split('\n').at(-1)).to.match(/^└─+┴.*┘$/)
  })
})
