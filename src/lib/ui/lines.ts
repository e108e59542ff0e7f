/**
 * What a command prints, as data: render functions in src/lib/ui return lines tagged with the stream they go to,
 * and the command hands them to its Terminal (BaseCommand.emit). Library code never prints (docs/architecture.md).
 */
import type {ChalkInstance} from 'chalk'

/** out: data on stdout; info / hint / warn / error / err: messages on stderr (as the Terminal methods of the same name). */
export type Channel = 'out' | 'info' | 'hint' | 'warn' | 'error' | 'err'

export interface Line {
  to: Channel
  text: string
}

/** The two colour instances a renderer may use: `c` for stdout, `ce` for stderr. */
export interface Palette {
  c: ChalkInstance
  ce: ChalkInstance
  /** Whether stdout has colour (tables style their head and border only then). */
  colour?: boolean
}

export const out = (text: string): Line => ({to: 'out', text})
export const info = (text: string): Line => ({to: 'info', text})
export const hint = (text: string): Line => ({to: 'hint', text})
export const warn = (text: string): Line => ({to: 'warn', text})
export const error = (text: string): Line => ({to: 'error', text})
export const err = (text: string): Line => ({to: 'err', text})
