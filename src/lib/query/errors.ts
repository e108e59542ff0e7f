import {UsageError} from '../errors.js'

/** Show at most this many characters of the query on each side of the caret. */
const CONTEXT = 60

/**
 * A query that does not parse (D15): exit code 2. `position` is the 0-based character offset; the message names the
 * column and shows the query with a caret under it, then the hint.
 */
export class QuerySyntaxError extends UsageError {
  readonly position: number
  readonly hint: string
  readonly query: string
  /** The message without the excerpt and the hint. */
  readonly reason: string

  constructor(query: string, position: number, reason: string, hint: string) {
    super(formatSyntaxError(query, position, reason, hint), {
      code: 'query_syntax',
      detail: {position, reason, hint, query},
    })
    this.position = position
    this.hint = hint
    this.query = query
    this.reason = reason
  }
}

function formatSyntaxError(query: string, position: number, reason: string, hint: string): string {
  // Whitespace that would break the caret's alignment is shown as a space.
  const shown = query.replace(/[\t\r\n\v\f]/g, ' ')
  let start = 0
  let end = shown.length
  let lead = ''
  let tail = ''
  if (position > CONTEXT) {
    start = position - CONTEXT
    lead = '…'
  }
  if (end - position > CONTEXT) {
    end = position + CONTEXT
    tail = '…'
  }
  const excerpt = lead + shown.slice(start, end) + tail
  const caret = ' '.repeat(lead.length + position - start) + '^'
  const lines = [`syntax error at column ${position}: ${reason}`, `  ${excerpt}`, `  ${caret}`]
  if (hint) lines.push(`hint: ${hint}`)
  return lines.join('\n')
}
