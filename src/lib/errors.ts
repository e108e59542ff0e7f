/**
 * One error hierarchy for all of flowlog. Library code throws these; the base command maps them to output and to the
 * documented exit codes. Messages never contain secrets (see redact()).
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 3,
  remote: 4,
  partial: 5,
  interrupted: 130,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface FlowlogErrorOptions {
  code?: string
  suggestions?: string[]
  cause?: unknown
  /** Extra structured detail for --json error output. */
  detail?: Record<string, unknown>
}

export class FlowlogError extends Error {
  readonly exitCode: ExitCodeValue
  readonly code: string
  readonly suggestions: string[]
  readonly detail?: Record<string, unknown>

  constructor(message: string, exitCode: ExitCodeValue = ExitCode.internal, options: FlowlogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.exitCode = exitCode
    this.code = options.code ?? 'internal'
    this.suggestions = options.suggestions ?? []
    this.detail = options.detail
  }
}

/** Bad flags, bad arguments, bad query syntax: exit 2. */
export class UsageError extends FlowlogError {
  constructor(message: string, options: FlowlogErrorOptions = {}) {
    super(message, ExitCode.usage, {code: 'usage', ...options})
  }
}

/** Missing or wrong configuration or credentials: exit 3. */
export class ConfigError extends FlowlogError {
  constructor(message: string, options: FlowlogErrorOptions = {}) {
    super(message, ExitCode.config, {code: 'config', ...options})
  }
}

/** Authentication refused by a remote service (401/403 and the like): exit 3. */
export class AuthError extends FlowlogError {
  constructor(message: string, options: FlowlogErrorOptions = {}) {
    super(message, ExitCode.config, {code: 'auth', ...options})
  }
}

/** A remote service failed (5xx after retries, unexpected answers, network): exit 4. */
export class RemoteError extends FlowlogError {
  readonly status?: number
  constructor(message: string, options: FlowlogErrorOptions & {status?: number} = {}) {
    super(message, ExitCode.remote, {code: 'remote', ...options})
    this.status = options.status
  }
}

/** Some of the work failed, the rest went through: exit 5. The result is kept so --json can still print it. */
export class PartialFailureError extends FlowlogError {
  readonly result: unknown
  constructor(message: string, result: unknown, options: FlowlogErrorOptions = {}) {
    super(message, ExitCode.partial, {code: 'partial', ...options})
    this.result = result
  }
}

/**
 * The disk is full (ENOSPC, or DuckDB's "No space left on device"): exit 5, saying where. What was committed before
 * stays usable; the caller removed its temporary files.
 */
export class DiskFullError extends FlowlogError {
  constructor(message: string, options: FlowlogErrorOptions = {}) {
    super(message, ExitCode.partial, {code: 'disk_full', suggestions: ['Free some space there (or point FLOWLOG_HOME at a larger disk), then run the command again'], ...options})
  }
}

/** Whether an error (Node's, a worker's, DuckDB's) says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof DiskFullError) return true
  const e = error as {code?: unknown; message?: unknown; cause?: unknown} | undefined
  if (!e || typeof e !== 'object') return false
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true
  if (typeof e.message === 'string' && /ENOSPC|EDQUOT|no space left on device|disk quota exceeded/i.test(e.message)) return true
  return e.cause !== undefined && e.cause !== error && isDiskFull(e.cause)
}

/** The user interrupted (Ctrl-C): exit 130. */
export class InterruptedError extends FlowlogError {
  constructor(message = 'interrupted', detail?: Record<string, unknown>) {
    super(message, ExitCode.interrupted, {code: 'interrupted', detail})
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /(authorization\s*[:=]\s*)(bearer|basic)?\s*[^\s"',}]+/gi,
  /(apikey\s*[:=]\s*"?)[^\s"',}&]+/gi,
  /(api_key\s*[:=]\s*"?)[^\s"',}&]+/gi,
  /([?&](?:apikey|api_key|access_token|token)=)[^&\s"]+/gi,
  /(\b(?:access_token|refresh_token|secret_access_key|ingestion_key)"?\s*[:=]\s*"?)[^\s"',}]+/gi,
  /(Bearer\s+)[A-Za-z0-9\-_.~+/]+=*/g,
  // An echoed Basic credential (--auth basic), wherever it appears.
  /(\bBasic\s+)[A-Za-z0-9+/]{8,}={0,2}/g,
  // HMAC (S3 signature v4): the access key id in Credential=, the signature, and named key fields.
  /(Credential=)[^/\s,"]+/g,
  /(Signature=)[0-9a-fA-F]+/g,
  /(\b(?:access_key_id|secret_access_key|aws_access_key_id|aws_secret_access_key|AWSAccessKeyId)"?\s*[:=]\s*"?)[^\s"',}&]+/gi,
]

/** Environment variables holding secrets: their values are redacted wherever they appear. */
const SECRET_ENV = [
  'IBMCLOUD_API_KEY',
  'FLOWLOG_COS_HMAC_ACCESS_KEY_ID',
  'FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY',
  'FLOWLOG_LOGDNA_INGESTION_KEY',
  'FLOWLOG_SLACK_WEBHOOK',
]

/** Known secret values registered at run time (API keys, ingestion keys) are redacted wherever they appear. */
const knownSecrets = new Set<string>()

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) knownSecrets.add(value)
}

/** Remove anything that looks like a credential from a string meant for output. */
export function redact(text: string): string {
  for (const name of SECRET_ENV) registerSecret(process.env[name])
  let out = text
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]')
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, '$1[REDACTED]')
  return out
}

/** redact() on every string of a JSON value (records written to files, e.g. checkpoints/*.failed.json). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v)
    return out as T
  }
  return value
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
