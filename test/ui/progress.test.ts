import {expect} from 'chai'

import {Terminal} from '../../src/lib/ui/terminal.js'

function sink(isTTY: boolean) {
  const lines: string[] = []
  return {lines, stream: {isTTY, write: (s: string) => lines.push(s) > 0}}
}

describe('Terminal progress outside a terminal', () => {
  it('prints nothing for short runs, then at most one line every 5 seconds', () => {
    let t = 1_000_000
    const err = sink(false)
    const term = new Terminal({stderr: err.stream, stdout: sink(false).stream, env: {}, now: () => t})
    term.progress('1 loaded')
    t += 4000
    term.progress('2 loaded')
    expect(err.lines).to.deep.equal([])
    t += 1500
    term.progress('3 loaded')
    t += 1000
    term.progress('4 loaded')
    expect(err.lines).to.deep.equal(['3 loaded\n'])
    t += 5000
    term.progress('5 loaded')
    expect(err.lines).to.deep.equal(['3 loaded\n', '5 loaded\n'])
  })

  it('is silent under --json', () => {
    let t = 0
    const err = sink(false)
    const term = new Terminal({json: true, stderr: err.stream, stdout: sink(false).stream, env: {}, now: () => t})
    t += 60_000
    term.progress('loaded')
    expect(err.lines).to.deep.equal([])
  })
})
