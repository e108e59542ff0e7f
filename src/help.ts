/**
 * Root help grouped by task (investigate / pipeline / sinks), one line a command: `flowlog --help`. Everything else
 * (a command's or topic's help) is oclif's own.
 */
import {Help} from '@oclif/core'

/** Which group each command or topic belongs to; anything not named here is listed under "other". */
export const HELP_GROUPS: ReadonlyArray<{title: string; ids: readonly string[]}> = [
  {title: 'INVESTIGATE', ids: ['demo', 'pull', 'search', 'why-rejected', 'top', 'stats', 'connections', 'explore', 'index', 'vpc', 'export']},
  {title: 'PIPELINE', ids: ['setup', 'doctor', 'teardown']},
  {title: 'SINKS', ids: ['forward', 'alert', 'watch']},
]

export default class FlowlogHelp extends Help {
  async showRootHelp(): Promise<void> {
    const width = Math.max(40, this.opts.maxWidth ?? (Number(process.env.COLUMNS) || process.stdout.columns || 80))
    this.log(wrapLines(this.formatRoot(), width))
    this.log('')
    const entries = new Map<string, string>()
    for (const t of this.sortedTopics) if (!t.name.includes(':')) entries.set(t.name, t.description ?? '')
    for (const c of this.sortedCommands) if (c.id && !c.id.includes(':')) entries.set(c.id, this.summary(c) ?? '')
    const nameWidth = Math.max(...[...entries.keys()].map((k) => k.length)) + 2
    const line = (id: string): string => {
      const text = (entries.get(id) ?? '').split('\n')[0].replace(/\s+/g, ' ').trim()
      const room = width - 2 - nameWidth // section() indents by 2
      const cut = text.length > room ? text.slice(0, Math.max(0, room - 1)) + '…' : text
      return `${id.padEnd(nameWidth)}${cut}`.trimEnd()
    }
    const placed = new Set<string>()
    for (const group of HELP_GROUPS) {
      const ids = group.ids.filter((id) => entries.has(id))
      if (ids.length === 0) continue
      this.log(this.section(group.title, ids.map(line).join('\n')))
      this.log('')
      for (const id of ids) placed.add(id)
    }
    const rest = [...entries.keys()].filter((id) => !placed.has(id))
    if (rest.length > 0) {
      this.log(this.section('OTHER', rest.map(line).join('\n')))
      this.log('')
    }
  }
}

/** Wrap every line longer than `width` at spaces, keeping its indentation on the continuation lines. */
export function wrapLines(text: string, width: number): string {
  return text
    .split('\n')
    .map((line) => {
      if ([...line].length <= width) return line
      const indent = /^\s*/.exec(line)?.[0] ?? ''
      const out: string[] = []
      let current = ''
      for (const word of line.trim().split(/\s+/)) {
        const next = current ? `${current} ${word}` : word
        if (current && indent.length + next.length > width) {
          out.push(indent + current)
          current = word
        } else current = next
      }
      if (current) out.push(indent + current)
      return out.join('\n')
    })
    .join('\n')
}
