/**
 * The typed columns of the local index: every documented header and record field (docs/flow-log-format.md §3.2, §3.3).
 * A row whose fields all have the expected JSON types (or are absent) and that has no other fields is "regular": its
 * typed columns say everything about it. Any other row is "irregular" and is evaluated from its stored line.
 */
export type FieldType = 'string' | 'integer' | 'boolean'

export interface FieldSpec {
  name: string
  type: FieldType
  /** SQL type of the column. */
  sql: 'VARCHAR' | 'BIGINT' | 'BOOLEAN'
}

const S = (name: string): FieldSpec => ({name, type: 'string', sql: 'VARCHAR'})
const I = (name: string): FieldSpec => ({name, type: 'integer', sql: 'BIGINT'})
const B = (name: string): FieldSpec => ({name, type: 'boolean', sql: 'BOOLEAN'})

export const HEADER_FIELDS: FieldSpec[] = [
  S('version'),
  S('collector_crn'),
  S('attached_endpoint_type'),
  S('network_interface_id'),
  S('instance_crn'),
  S('vpc_crn'),
  S('capture_start_time'),
  S('capture_end_time'),
  S('state'),
]

export const RECORD_FIELDS: FieldSpec[] = [
  S('start_time'),
  S('end_time'),
  S('connection_start_time'),
  S('direction'),
  S('action'),
  S('initiator_ip'),
  S('target_ip'),
  I('initiator_port'),
  I('target_port'),
  I('transport_protocol'),
  S('ether_type'),
  B('was_initiated'),
  B('was_terminated'),
  I('bytes_from_initiator'),
  I('packets_from_initiator'),
  I('bytes_from_target'),
  I('packets_from_target'),
  I('cumulative_bytes_from_initiator'),
  I('cumulative_packets_from_initiator'),
  I('cumulative_bytes_from_target'),
  I('cumulative_packets_from_target'),
]

/** The row's own fields with typed columns, in canonical order; `key` is last. */
export const ROW_FIELDS: FieldSpec[] = [...HEADER_FIELDS, ...RECORD_FIELDS, S('key')]

export const ROW_FIELD_MAP: ReadonlyMap<string, FieldSpec> = new Map(ROW_FIELDS.map((f) => [f.name, f]))

/** Whether a JSON value fits the column (absent and null are NULL and fit). */
export function fitsColumn(spec: FieldSpec, value: unknown): boolean {
  if (value === undefined) return true
  switch (spec.type) {
    case 'string':
      return typeof value === 'string'
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value)
    case 'boolean':
      return typeof value === 'boolean'
  }
}

/** A row is regular when every field is known and fits its column (and no field is JSON null). */
export function isRegularRow(row: Record<string, unknown>): boolean {
  for (const k in row) {
    const spec = ROW_FIELD_MAP.get(k)
    if (!spec) return false
    const v = row[k]
    if (v === null || !fitsColumn(spec, v)) return false
  }
  return true
}

export const PROTOCOL_NAMES: Record<number, string> = {1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp'}
