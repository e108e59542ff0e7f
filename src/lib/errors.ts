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

/** Some of the work failed, the rest succeeded: exit 5. The result is kept so --json can still print it. */
export class PartialFailureError extends FlowlogError {
  readonly result: unknown
  constructor(message: string, result: unknown, options: FlowlogErrorOptions = {}) {
    super(message, ExitCode.partial, {code: 'partial', ...options})
    this.result = result
  }
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
]

/** Known secret values registered at run time (API keys, ingestion keys) are redacted wherever they appear. */
const knownSecrets = new Set<string>()

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) knownSecrets.add(value)
}

/** Remove anything that looks like a credential from a string meant for output. */
export function redact(text: string): string {
  let out = text
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]')
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, '$1[REDACTED]')
  return out
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
