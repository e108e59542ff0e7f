/**
 * Flow-log COS keys (docs/flow-log-format.md §2): the v1 layout with URL-encoded CRNs and hour directories, and the legacy
 * v0 layout with raw CRNs. The raw key is kept for API calls; decoded values are for display and derived fields.
 */
export const FLOWLOG_KEY_PREFIX = 'ibm_vpc_flowlogs_'

const V1 =
  /^ibm_vpc_flowlogs_v1\/account=(?<account>[^/]+)\/region=(?<region>[^/]+)\/vpc-id=(?<vpc_id>[^/]+)\/subnet-id=(?<subnet_id>[^/]+)\/endpoint-type=(?<endpoint_type>[^/]+)\/instance-id=(?<instance_id>[^/]+)\/vnic-id=(?<vnic_id>[^/]+)\/record-type=(?<record_type>[^/]+)\/year=(?<year>[0-9]{4})\/month=(?<month>[0-9]{2})\/day=(?<day>[0-9]{2})\/hour=(?<hour>[0-9]{2})\/stream-id=(?<stream_id>[^/]+)\/(?<sequence>[0-9]+)\.gz$/

const V0 =
  /^ibm_vpc_flowlogs_v0\/(?<account>[0-9a-f]+)\/(?<zone>[^/]+)\/(?<vpc_crn>crn:[^/]*\/[^/]*)\/(?<subnet_crn>crn:[^/]*\/[^/]*)\/vnics\/(?<instance_crn>crn:[^/]*\/[^/]*)\/(?<vnic_id>[^/]+)\/(?<record_type>[^/]+)\/(?<stream_id>[^/]+)\/(?<sequence>[0-9]+)\.gz$/

export interface ParsedKey {
  layout: 'v1' | 'v0'
  /** The key exactly as stored (for S3 calls, ledgers, the `key` field). */
  raw: string
  account: string
  region: string
  zone?: string
  vpc_crn: string
  subnet_crn: string
  subnet_id?: string
  instance_crn: string
  instance_id?: string
  vnic_id: string
  record_type: string
  /** Start of the hour directory (v1 only), epoch ms UTC. */
  hour_dir?: number
  year?: number
  month?: number
  day?: number
  hour?: number
  stream_id: string
  sequence: string
  /** The raw (still encoded) segment values of a v1 key, for building prefixes. */
  rawSegments?: {vpc_id: string; subnet_id: string; instance_id: string}
}

export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

function afterMarker(crn: string, marker: string): string | undefined {
  const i = crn.indexOf(marker)
  return i === -1 ? undefined : crn.slice(i + marker.length)
}

/** The zone of a zonal CRN: `crn:v1:bluemix:public:is:us-south-2:a/...` → `us-south-2`. */
export function crnLocation(crn: string): string | undefined {
  const parts = crn.split(':')
  return parts.length > 5 && parts[5] !== '' ? parts[5] : undefined
}

/** Parse a flow-log key; undefined when it matches neither layout. */
export function parseKey(fullKey: string): ParsedKey | undefined {
  // A bucket may keep flow logs under a folder (cos://bucket/archive): parse from the flow-log prefix on.
  let key = fullKey
  if (!key.startsWith(FLOWLOG_KEY_PREFIX)) {
    const at = key.indexOf(`/${FLOWLOG_KEY_PREFIX}`)
    if (at === -1) return undefined
    key = key.slice(at + 1)
  }
  const parsed = parseLayout(key)
  if (parsed) parsed.raw = fullKey
  return parsed
}

function parseLayout(key: string): ParsedKey | undefined {
  const v1 = V1.exec(key)
  if (v1?.groups) {
    const g = v1.groups
    const subnetCrn = safeDecode(g.subnet_id)
    const instanceCrn = safeDecode(g.instance_id)
    const year = Number(g.year)
    const month = Number(g.month)
    const day = Number(g.day)
    const hour = Number(g.hour)
    return {
      layout: 'v1',
      raw: key,
      account: safeDecode(g.account),
      region: safeDecode(g.region),
      zone: crnLocation(subnetCrn),
      vpc_crn: safeDecode(g.vpc_id),
      subnet_crn: subnetCrn,
      subnet_id: afterMarker(subnetCrn, '::subnet:'),
      instance_crn: instanceCrn,
      instance_id: afterMarker(instanceCrn, '::instance:'),
      vnic_id: safeDecode(g.vnic_id),
      record_type: safeDecode(g.record_type),
      // hour may be "24" per the docs ("00-24"): Date.UTC rolls it over to the next day.
      hour_dir: Date.UTC(year, month - 1, day, hour),
      year,
      month,
      day,
      hour,
      stream_id: safeDecode(g.stream_id),
      sequence: g.sequence,
      rawSegments: {vpc_id: g.vpc_id, subnet_id: g.subnet_id, instance_id: g.instance_id},
    }
  }
  const v0 = V0.exec(key)
  if (v0?.groups) {
    const g = v0.groups
    return {
      layout: 'v0',
      raw: key,
      account: g.account,
      region: g.zone.replace(/-\d+$/, ''),
      zone: g.zone,
      vpc_crn: g.vpc_crn,
      subnet_crn: g.subnet_crn,
      subnet_id: afterMarker(g.subnet_crn, '::subnet:'),
      instance_crn: g.instance_crn,
      instance_id: afterMarker(g.instance_crn, '::instance:'),
      vnic_id: g.vnic_id,
      record_type: g.record_type,
      stream_id: g.stream_id,
      sequence: g.sequence,
    }
  }
  return undefined
}

export type KeyClass = 'v1' | 'v0' | 'unrecognised' | 'foreign'

/** v1/v0: parsed; unrecognised: under ibm_vpc_flowlogs_ but neither layout (still read); foreign: never read. */
export function classifyKey(key: string): KeyClass {
  if (!key.startsWith(FLOWLOG_KEY_PREFIX)) return 'foreign'
  const parsed = parseKey(key)
  return parsed ? parsed.layout : 'unrecognised'
}

/** The v1 key for the given parts (used by the demo, tests and fixtures). Values are URL-encoded as IBM does. */
export function buildV1Key(parts: {
  account: string
  region: string
  vpc_crn: string
  subnet_crn: string
  instance_crn: string
  vnic_id: string
  record_type: string
  time: number
  stream_id: string
  sequence: number
}): string {
  const d = new Date(parts.time)
  const p2 = (n: number) => String(n).padStart(2, '0')
  const enc = encodeURIComponent
  return (
    `ibm_vpc_flowlogs_v1/account=${parts.account}/region=${parts.region}/vpc-id=${enc(parts.vpc_crn)}` +
    `/subnet-id=${enc(parts.subnet_crn)}/endpoint-type=vnics/instance-id=${enc(parts.instance_crn)}` +
    `/vnic-id=${parts.vnic_id}/record-type=${parts.record_type}/year=${d.getUTCFullYear()}/month=${p2(d.getUTCMonth() + 1)}` +
    `/day=${p2(d.getUTCDate())}/hour=${p2(d.getUTCHours())}/stream-id=${parts.stream_id}/${String(parts.sequence).padStart(8, '0')}.gz`
  )
}
