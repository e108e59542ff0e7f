import type {JsonObject} from './object.js'
import {recordId} from './row.js'

/**
 * The envelope every record carries, locally and when forwarded (docs/query-language.md §11 D17, docs/sinks.md §1.2).
 * Local search and forward must build it the same way.
 */
export interface EnvelopeOptions {
  hostname?: string
  app?: string
  /** The level for every line, default INFO. */
  level?: string
  /** WARN for rejected, INFO for accepted (overrides `level`). */
  levelByAction?: boolean
  tags?: string[]
}

export interface Envelope {
  host: string
  app: string
  level: string
  tags: string[]
  meta: {record_id: string}
}

export const DEFAULT_HOSTNAME = 'flowlog'
export const DEFAULT_APP = 'vpc-flowlogs'
export const DEFAULT_LEVEL = 'INFO'

/** The envelope level of a row: WARN/INFO by action when asked, else the configured level. */
export function envelopeLevel(row: JsonObject, options: EnvelopeOptions = {}): string {
  if (options.levelByAction) return row.action === 'rejected' ? 'WARN' : 'INFO'
  return options.level ?? DEFAULT_LEVEL
}

export function buildEnvelope(row: JsonObject, key: string, index: number, options: EnvelopeOptions = {}): Envelope {
  return {
    host: options.hostname ?? DEFAULT_HOSTNAME,
    app: options.app ?? DEFAULT_APP,
    level: envelopeLevel(row, options),
    tags: options.tags ?? [],
    meta: {record_id: recordId(key, index)},
  }
}
