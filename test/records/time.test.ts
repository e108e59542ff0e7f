/** Durations, timestamps, --since/--until and the hour-directory window test (docs/flow-log-format.md §2.5, Q12). */
import {expect} from 'chai'

import {UsageError} from '../../src/lib/errors.js'
import {floorHour, HOUR_MS, hourInWindow, parseDuration, parseTimeFlag, parseTimestamp, parseWindow} from '../../src/lib/records/time.js'

const MIN = 60_000
const NOW = Date.UTC(2026, 10, 29, 12, 34, 56)

/** Run `fn` with the process in another time zone (Node applies a TZ change at once). */
function inTimeZone<T>(tz: string, fn: () => T): T {
  const saved = process.env.TZ
  process.env.TZ = tz
  try {
    return fn()
  } finally {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  }
}

describe('records/time: parseDuration', () => {
  it('90m, 1h, 7d and friends', () => {
    expect(parseDuration('90m')).to.equal(90 * MIN)
    expect(parseDuration('1h')).to.equal(HOUR_MS)
    expect(parseDuration('7d')).to.equal(7 * 24 * HOUR_MS)
    expect(parseDuration('30s')).to.equal(30_000)
    expect(parseDuration('2w')).to.equal(14 * 24 * HOUR_MS)
    expect(parseDuration('1.5h')).to.equal(90 * MIN)
    expect(parseDuration(' 15 min ')).to.equal(15 * MIN)
    expect(parseDuration('2H')).to.equal(2 * HOUR_MS)
    expect(parseDuration('250ms')).to.equal(250)
  })

  it('anything else is not a duration', () => {
    for (const bad of ['', 'h', '5', '5x', '-1h', '1h30m', 'one hour', '1 hour ago', '2026-01-01', 'm5', '.5h']) {
      expect(parseDuration(bad), bad).to.equal(undefined)
    }
  })
})

describe('records/time: parseTimestamp', () => {
  it('RFC 3339 UTC, with fractions and offsets', () => {
    expect(parseTimestamp('2021-11-23T20:29:59Z')).to.equal(Date.UTC(2021, 10, 23, 20, 29, 59))
    expect(parseTimestamp('2021-11-23T20:29:59.250Z')).to.equal(Date.UTC(2021, 10, 23, 20, 29, 59, 250))
    expect(parseTimestamp('2021-11-23T22:29:59+02:00')).to.equal(Date.UTC(2021, 10, 23, 20, 29, 59))
    expect(parseTimestamp('2021-11-23T15:29:59-0500')).to.equal(Date.UTC(2021, 10, 23, 20, 29, 59))
    expect(parseTimestamp('2021-11-23t20:29:59z')).to.equal(Date.UTC(2021, 10, 23, 20, 29, 59))
  })

  it('a timestamp with no zone is UTC, whatever the local time zone (Q12)', () => {
    for (const tz of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      inTimeZone(tz, () => {
        expect(parseTimestamp('2020-06-04T13:43:10'), tz).to.equal(Date.UTC(2020, 5, 4, 13, 43, 10))
        expect(parseTimestamp('2020-06-04 13:43:10'), tz).to.equal(Date.UTC(2020, 5, 4, 13, 43, 10))
        expect(parseTimestamp('2020-06-04T13:43'), tz).to.equal(Date.UTC(2020, 5, 4, 13, 43))
        expect(parseTimestamp('2020-06-04'), tz).to.equal(Date.UTC(2020, 5, 4))
      })
    }
  })

  it('"", missing, non-strings and non-ISO text are undefined', () => {
    for (const bad of ['', undefined, null, 1591278190000, 'garbage', '5', '2001', 'March 7', 'Tue, 01 Dec 2026 10:00:00 GMT', '2026-13-45T10:00:00Z']) {
      inTimeZone('America/New_York', () => expect(parseTimestamp(bad), String(bad)).to.equal(undefined))
    }
  })
})

describe('records/time: parseTimeFlag and parseWindow', () => {
  it('an ISO time', () => {
    expect(parseTimeFlag('2026-11-29T10:00:00Z', 'since', NOW)).to.equal(Date.UTC(2026, 10, 29, 10))
    expect(parseTimeFlag('2026-11-29T10:00:00', 'since', NOW)).to.equal(Date.UTC(2026, 10, 29, 10))
  })

  it('a duration means that long before now; "now" is now', () => {
    expect(parseTimeFlag('90m', 'since', NOW)).to.equal(NOW - 90 * MIN)
    expect(parseTimeFlag('7d', 'until', NOW)).to.equal(NOW - 7 * 24 * HOUR_MS)
    expect(parseTimeFlag('now', 'until', NOW)).to.equal(NOW)
  })

  it('garbage is a UsageError (exit 2) naming the flag and the value, with a suggestion', () => {
    for (const bad of ['garbage', 'yesterday', '5', '', '1 hour']) {
      let caught: unknown
      try {
        parseTimeFlag(bad, 'since', NOW)
      } catch (error) {
        caught = error
      }
      expect(caught, bad).to.be.instanceOf(UsageError)
      const e = caught as UsageError
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.contain('--since')
      expect(e.message).to.contain(JSON.stringify(bad))
      expect(e.suggestions.join(' ')).to.match(/90m/)
    }
  })

  it('parseWindow: both bounds, and since must be before until', () => {
    expect(parseWindow({since: '2h', until: '1h'}, NOW)).to.deep.equal({since: NOW - 2 * HOUR_MS, until: NOW - HOUR_MS})
    expect(parseWindow({}, NOW)).to.deep.equal({})
    expect(() => parseWindow({since: '1h', until: '2h'}, NOW)).to.throw(UsageError, /--since must be before --until/)
    expect(() => parseWindow({until: 'nope'}, NOW)).to.throw(UsageError, /--until "nope"/)
  })
})

describe('records/time: hourInWindow (which hour directories can hold records of the window)', () => {
  const H10 = Date.UTC(2026, 10, 29, 10)
  const H9 = H10 - HOUR_MS
  const H8 = H9 - HOUR_MS
  const H11 = H10 + HOUR_MS

  it('no window keeps everything', () => {
    expect(hourInWindow(H8, {})).to.equal(true)
  })

  it('the hour containing since is kept; hours before it are not, when since is well past the boundary', () => {
    const w = {since: H10 + 30 * MIN}
    expect(hourInWindow(H10, w)).to.equal(true)
    expect(hourInWindow(H11, w)).to.equal(true)
    expect(hourInWindow(H9, w)).to.equal(false)
  })

  it('the hour before since is kept when since is within 5 minutes of the boundary', () => {
    expect(hourInWindow(H9, {since: H10})).to.equal(true)
    expect(hourInWindow(H9, {since: H10 + 4 * MIN})).to.equal(true)
    expect(hourInWindow(H9, {since: H10 + 5 * MIN - 1})).to.equal(true)
    expect(hourInWindow(H9, {since: H10 + 5 * MIN})).to.equal(false)
    expect(hourInWindow(H8, {since: H10})).to.equal(false)
  })

  it('until is exclusive: the hour starting at until is not kept, the one before is', () => {
    expect(hourInWindow(H10, {until: H10})).to.equal(false)
    expect(hourInWindow(H9, {until: H10})).to.equal(true)
    expect(hourInWindow(H10, {until: H10 + 1})).to.equal(true)
  })

  it('both bounds inside one hour keep just that hour (and the one before near the boundary)', () => {
    const w = {since: H10 + 10 * MIN, until: H10 + 20 * MIN}
    expect([H8, H9, H10, H11].map((h) => hourInWindow(h, w))).to.deep.equal([false, false, true, false])
  })

  it('floorHour', () => {
    expect(floorHour(H10 + 59 * MIN)).to.equal(H10)
    expect(floorHour(H10)).to.equal(H10)
  })
})
