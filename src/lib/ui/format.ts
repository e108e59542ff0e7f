/** Small formatting helpers shared by renderers. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = n
  let i = 0
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : pluralWord}`
}

export function formatRate(count: number, ms: number): string {
  if (ms <= 0) return '–'
  const rate = count / (ms / 1000)
  return rate >= 100 ? formatCount(Math.round(rate)) : rate.toFixed(1)
}

export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return ''
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

export interface TimeOptions {
  /** Local time with its offset (`--local`) instead of UTC (the default, `--utc`). */
  local?: boolean
}

const pad2 = (n: number) => String(n).padStart(2, '0')

/**
 * The one time format of every table and line for people: ISO 8601 to the second, `2026-12-07T14:45:32Z` in UTC (the
 * default) or `2026-12-07T15:45:32+01:00` in local time (`--local`).
 */
export function formatTime(ms: number | null | undefined, options: TimeOptions = {}): string {
  if (!options.local) return isoTime(ms)
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return ''
  const d = new Date(ms)
  const off = -d.getTimezoneOffset()
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad2(Math.floor(Math.abs(off) / 60))}:${pad2(Math.abs(off) % 60)}`
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}` + zone
  )
}

/** Well-known service ports, named beside their number in tables (22/ssh). */
export const PORT_NAMES: Record<number, string> = {
  20: 'ftp-data',
  21: 'ftp',
  22: 'ssh',
  23: 'telnet',
  25: 'smtp',
  53: 'dns',
  67: 'dhcp',
  68: 'dhcp',
  80: 'http',
  110: 'pop3',
  123: 'ntp',
  135: 'msrpc',
  137: 'netbios',
  139: 'netbios',
  143: 'imap',
  161: 'snmp',
  389: 'ldap',
  443: 'https',
  445: 'smb',
  465: 'smtps',
  514: 'syslog',
  587: 'submission',
  636: 'ldaps',
  993: 'imaps',
  995: 'pop3s',
  1433: 'mssql',
  1521: 'oracle',
  2049: 'nfs',
  2375: 'docker',
  3306: 'mysql',
  3389: 'rdp',
  5432: 'postgres',
  5900: 'vnc',
  6379: 'redis',
  6443: 'k8s-api',
  8080: 'http-alt',
  8443: 'https-alt',
  9200: 'elastic',
  27017: 'mongodb',
}

/** A port with its service name when it has a well-known one: `22/ssh`, `3000`. */
export function portLabel(port: unknown): string {
  const name = typeof port === 'number' ? PORT_NAMES[port] : undefined
  return name ? `${port}/${name}` : String(port)
}

/**
 * Words wrapped to `width` (Infinity: one line), later lines indented by `indent` spaces — so a long line for people
 * never wraps in the terminal mid-word (doctor's checks and fixes). A word longer than a line stays whole.
 */
export function wrapText(text: string, width: number, indent: number, first = 0): string[] {
  if (!Number.isFinite(width)) return [text]
  const lines: string[] = []
  let line = ''
  let room = Math.max(10, width - first)
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line)
      line = word
      room = Math.max(10, width - indent)
    } else line = line ? `${line} ${word}` : word
  }
  lines.push(line)
  return lines.map((l, i) => (i === 0 ? l : ' '.repeat(indent) + l))
}
