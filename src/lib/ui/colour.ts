import {Chalk, type ChalkInstance} from 'chalk'

/**
 * The one colour decision (chalk does not read NO_COLOR): FORCE_COLOR wins when set to a non-zero value, then
 * NO_COLOR (any non-empty value) and TERM=dumb turn colour off, otherwise colour only when the stream is a TTY.
 */
export function colourEnabled(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true
  if (force === '0' || force === 'false') return false
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}

export function makeChalk(enabled: boolean): ChalkInstance {
  return new Chalk({level: enabled ? 1 : 0})
}
