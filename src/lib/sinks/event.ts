import {ExitCode, FlowlogError} from '../errors.js'

/**
 * The Code Engine COS event (docs/flow-log-format.md §6): `CE_DATA` holds the JSON of one write or delete event.
 * Rules (§6.3): invalid JSON → exit 1; key from `key` else `notification.object_name`; bucket from `bucket` else
 * `notification.bucket_name`; a delete (operation or CE_TYPE) is acknowledged and ignored.
 */
export interface CosEvent {
  type: 'write' | 'delete'
  bucket?: string
  key: string
  etag?: string
  size?: number
  /** The raw operation / event type, for messages. */
  operation?: string
  requestTime?: string
}

export class EventError extends FlowlogError {
  constructor(message: string) {
    super(message, ExitCode.internal, {
      code: 'ce_data',
      suggestions: ['CE_DATA must hold the JSON of a Code Engine COS event (docs/flow-log-format.md §6.2); unset it to list the bucket instead'],
    })
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** Whether the environment carries an event (CE_DATA set and not blank). */
export function hasEvent(env: NodeJS.ProcessEnv): boolean {
  return env.CE_DATA !== undefined && env.CE_DATA.trim() !== ''
}

export function parseCosEvent(ceData: string, ceType?: string): CosEvent {
  let doc: unknown
  try {
    doc = JSON.parse(ceData)
  } catch (error) {
    throw new EventError(`CE_DATA is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new EventError('CE_DATA is not a JSON object')
  const d = doc as Record<string, unknown>
  const n = (typeof d.notification === 'object' && d.notification !== null ? d.notification : {}) as Record<string, unknown>
  const key = str(d.key) ?? str(n.object_name)
  if (!key) throw new EventError('CE_DATA names no object: neither key nor notification.object_name is set')
  const operation = str(d.operation) ?? str(n.event_type)
  const isDelete = /delete/i.test(operation ?? '') || /\.delete$/i.test(ceType ?? '')
  const lengthText = n.object_length
  const size = typeof lengthText === 'number' ? lengthText : typeof lengthText === 'string' && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined
  const etag = str(n.object_etag)?.replace(/^"|"$/g, '')
  return {
    type: isDelete ? 'delete' : 'write',
    bucket: str(d.bucket) ?? str(n.bucket_name),
    key,
    etag,
    size,
    operation: operation ?? ceType,
    requestTime: str(n.request_time),
  }
}

/** Whether a read error means the object does not exist (COS NoSuchKey / 404, or a missing file). */
export function isNoSuchKey(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const e = error as {code?: unknown; name?: unknown; statusCode?: unknown; status?: unknown; cause?: unknown}
  if (e.code === 'ENOENT' || e.code === 'NoSuchKey' || e.name === 'NoSuchKey' || e.code === 'NotFound') return true
  if (e.statusCode === 404 || e.status === 404) return true
  if (e.cause !== undefined && e.cause !== error) return isNoSuchKey(e.cause)
  return false
}
