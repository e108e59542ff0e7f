import {expect} from 'chai'
import {Chalk} from 'chalk'

import {formatTime, portLabel, wrapText} from '../../src/lib/ui/format.js'
import {recordTable} from '../../src/lib/ui/records.js'
import {textTable} from '../../src/lib/ui/table.js'

const c = new Chalk({level: 0})
const names = new Map([['10.240.0.4', 'flowlogs-vsi1/eth0']])
const row = (i: number) => ({
  row: {direction: 'I', action: 'rejected', initiator_ip: `92.63.197.${i}`, initiator_port: 40000 + i, target_ip: '10.240.0.4', target_port: 22, transport_protocol: 6, bytes_from_initiator: 60, bytes_from_target: 0, packets_from_initiator: 1, packets_from_target: 0},
  time: '2026-12-07T14:45:32Z',
})
const widest = (s: string) => Math.max(...s.split('\n').map((l) => [...l].length))

describe('tables that fit (src/lib/ui/table.ts)', () => {
  it('the record table gives way by priority: names, packets, dir, the year, bytes, proto; never wider than the width', () => {
    const rows = [row(61), row(62)]
    const full = recordTable(rows, c, undefined, names)
    expect(full).to.contain('(flowlogs-vsi1/eth0)').and.contain('pkts ↑/↓').and.contain('10.240.0.4:22/ssh').and.contain('60 B/0 B')
    for (const width of [120, 100, 80, 60, 40, 20]) {
      const t = recordTable(rows, c, undefined, names, width)
      expect(widest(t), `width ${width}`).to.be.at.most(width)
    }
    const at100 = recordTable(rows, c, undefined, names, 100)
    expect(at100).to.not.contain('flowlogs-vsi1')
    expect(at100).to.contain('bytes ↑/↓')
    const at60 = recordTable(rows, c, undefined, names, 60)
    expect(at60).to.contain('action').and.contain('92.63.197.61')
    expect(at60).to.not.contain('bytes')
    expect(at60).to.not.contain('2026-')
  })

  it('textTable cuts the columns named first, then others; --wide (Infinity) keeps every cell whole', () => {
    const rows = [['cos bucket', 'crn:v1:bluemix:public:cloud-object-storage:global:a/0123456789abcdef::bucket:flowlogs', 'create', 'yes (per GB)']]
    const wide = textTable(['resource', 'id / name', 'plan', 'costs money'], rows, c)
    expect(wide).to.contain(rows[0][1])
    const narrow = textTable(['resource', 'id / name', 'plan', 'costs money'], rows, c, {width: 60, cut: ['id / name']})
    expect(widest(narrow)).to.be.at.most(60)
    expect(narrow).to.contain('create').and.contain('yes (per GB)').and.contain('…')
  })

  it('one time format: ISO UTC by default, local with its offset; ports named beside numbers; wrapped lines stay within the width', () => {
    const ms = Date.UTC(2026, 11, 7, 14, 45, 32)
    expect(formatTime(ms)).to.equal('2026-12-07T14:45:32Z')
    expect(formatTime(ms, {local: true})).to.match(/^2026-12-0[67]T\d\d:\d\d:32(Z|[+-]\d\d:\d\d)$/)
    expect(new Date(formatTime(ms, {local: true})).getTime()).to.equal(ms)
    expect([portLabel(22), portLabel(3389), portLabel(3000)]).to.deep.equal(['22/ssh', '3389/rdp', '3000'])
    const lines = wrapText('the bucket is in eu-de but the VPC is in us-south: collectors write only to a bucket in their region', 40, 4)
    for (const l of lines) expect(l.length).to.be.at.most(40)
    expect(lines.slice(1).every((l) => l.startsWith('    '))).to.equal(true)
  })
})
