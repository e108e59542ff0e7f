/**
 * `flowlog serch`: an unknown command is a usage error (exit 2) that names the nearest command, the way oclif's
 * plugin-not-found does, through the same edit distance as unknown flags and fields (src/lib/suggest.ts).
 */
import type {Hook} from '@oclif/core'
import {Errors} from '@oclif/core'
import {nearest} from '../lib/suggest.js'

const hook: Hook<'command_not_found'> = async function (opts) {
  const typed = opts.id.replaceAll(':', ' ')
  const visible = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  const near = nearest(typed, visible, Math.max(2, Math.floor(typed.length / 2)))
  const lines = [`"${typed}" is not a flowlog command${near ? `; did you mean ${near}?` : ''}`]
  lines.push(`Run ${opts.config.bin} --help for the list of commands.`)
  throw new Errors.CLIError(lines.join('\n'), {exit: 2})
}

export default hook
