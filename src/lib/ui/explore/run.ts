/**
 * `flowlog explore` as one call for the command: refuse without a terminal, open the session (the index once), the
 * names, the follow loop when asked, then the app until the user quits.
 */
import type {Home} from '../../config/home.js'
import {readConfig} from '../../config/settings.js'
import {UsageError} from '../../errors.js'
import {parseInterval} from '../../follow/follow.js'
import {loadNames} from '../../names.js'
import {openSourceFromFlags, type SourceFlagValues} from '../../sources/from-flags.js'
import {KNOWN_FIELDS} from '../../store/query-fields.js'
import {makeChalk} from '../colour.js'
import {ExploreController} from './controller.js'
import {fileHistory, historyFile} from './history.js'
import {followInSession, openSession} from './session.js'

export interface RunExploreOptions {
  home: Home
  query?: string
  names: boolean
  follow: boolean
  interval?: string
  /** Records fetched at a time. */
  chunk: number
  vpcConfig?: string
  sourceFlags: SourceFlagValues
  stdin?: NodeJS.ReadStream
  stdout?: NodeJS.WriteStream
  env?: NodeJS.ProcessEnv
  /** The index is empty and nothing will fill it: the command says so instead. */
  onEmpty?: () => void
}

export interface ExploreSummary {
  queries: number
  /** Times the index was opened in the session (always 1). */
  index_opens: number
  /** 0 (q), 130 (Ctrl-C). */
  exit_code: number
  follow_rounds?: number
}

/** A full-screen app needs a terminal on both sides. */
export function requireTerminal(stdin: {isTTY?: boolean}, stdout: {isTTY?: boolean}): void {
  if (stdin.isTTY && stdout.isTTY) return
  throw new UsageError('explore needs a terminal; use search', {
    code: 'not_a_terminal',
    suggestions: [`flowlog search 'QUERY' (--output ndjson|csv for pipes and files)`],
  })
}

export async function runExplore(o: RunExploreOptions): Promise<ExploreSummary> {
  const stdin = o.stdin ?? process.stdin
  const stdout = o.stdout ?? process.stdout
  const env = o.env ?? process.env
  requireTerminal(stdin, stdout)
  const config = await readConfig(o.home)
  const intervalMs = o.follow ? parseInterval(o.interval ?? '30s') : 0
  const source = o.follow ? await openSourceFromFlags(o.home, o.sourceFlags) : undefined
  const session = await openSession({home: o.home, config, env, vpcConfig: o.vpcConfig, region: o.sourceFlags.region, write: o.follow})
  const aborter = new AbortController()
  let rounds = 0
  let pool: import('../../store/pool.js').ParsePool | undefined
  try {
    if (!o.follow && (await session.store.isEmpty())) {
      o.onEmpty?.()
      return {queries: 0, index_opens: session.stats.opens, exit_code: 0}
    }
    const names = o.names ? (await loadNames(o.home, {config}).catch(() => undefined))?.names : undefined
    const c = makeChalk(!env.NO_COLOR)
    const controller = new ExploreController({
      data: session,
      history: fileHistory(historyFile(o.home)),
      c,
      fields: KNOWN_FIELDS,
      chunk: o.chunk,
      unicode: true,
      live: source ? `following ${source.description}: catching up…` : undefined,
    })
    const {runApp} = await import('./app.js')
    const app = runApp({controller, c, names, stdin, stdout})
    await controller.start(o.query)
    let following: Promise<void> | undefined
    if (source) {
      const {ParsePool} = await import('../../store/pool.js')
      pool = new ParsePool()
      const every = o.interval ?? '30s'
      following = followInSession({
        session,
        source,
        intervalMs,
        signal: aborter.signal,
        pool,
        onReady: () => {
          controller.state = {...controller.state, live: `following ${source.description} every ${every}`}
          controller.dispatch({type: 'refresh'})
        },
        onRecords: (records, info) => {
          rounds++
          controller.live(records, info.newRecords ? `round ${rounds}: ${info.newRecords} new records` : `round ${rounds}: nothing new`)
        },
        onRoundError: (error) => controller.dispatch({type: 'status', text: `this round failed: ${(error as Error).message ?? String(error)}; trying again next round`}),
      }).catch((error) => controller.dispatch({type: 'status', text: `following stopped: ${(error as Error).message ?? String(error)}`}))
    }
    const code = await app
    aborter.abort()
    await following
    return {queries: session.stats.queries, index_opens: session.stats.opens, exit_code: code, ...(source ? {follow_rounds: rounds} : {})}
  } finally {
    aborter.abort()
    await session.close()
    await pool?.close()
    await source?.close?.()
  }
}
