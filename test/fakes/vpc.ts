/**
 * A strict fake of the IBM Cloud VPC API v1 (IBM/vpc-node-sdk vpc/v1.ts) as a mountable request handler.
 *
 *   const fake = createVpcFake({isValidToken: (t) => iam.issued.has(t)})
 *   server.on('request', async (req, res) => { if (!(await fake.handle(req, res))) { res.statusCode = 404; res.end() } })
 *
 * or, alone on 127.0.0.1:0 (optionally with a tiny IAM token endpoint on the same server for self-contained tests):
 *
 *   const {url, iamUrl, fake, close} = await startVpcFake({iam: true})   // url ends in /v1
 *
 * Strictness: `version` (YYYY-MM-DD, not in the future) and `generation=2` on every call (400 otherwise), Bearer auth
 * (401), limit/start paging with next.href, VPC error bodies ({errors:[{code,message}],trace,status_code}), unknown
 * body fields rejected, protocol spelled `all` or `icmp_tcp_udp` according to `version`, ACL `before` ordering,
 * collectors refused with 403 until the authorization check says the policy exists, one collector per target (409).
 *
 * `handle()` only claims paths under `basePath` (default /v1) whose first segment is a VPC collection, so another
 * fake (IAM policies at /v1/policies) can share the server. It reads the request body itself: pass it untouched.
 */
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {demoVpcSnapshot, type VpcSnapshot} from '../../src/lib/demo/snapshot.js'

type Json = Record<string, any>

export interface VpcFakeRequest {
  method: string
  path: string
  query: Record<string, string>
  body?: unknown
  status: number
  authorized: boolean
}

export interface CollectorAuthorizationContext {
  bucket: string
  target: Json
  resourceGroupId?: string
  /** The bearer token the caller used (so the composing fake-cloud can find the account). */
  token?: string
}

export type AuthorizationCheck = (ctx: CollectorAuthorizationContext) => boolean | Promise<boolean>

export interface InjectedFailure {
  method?: string
  path?: RegExp
  status: number
  /** How many matching requests fail (default 1). */
  times?: number
  body?: unknown
}

export interface VpcFakeOptions {
  /** Initial configuration (default: the demo scenario's snapshot). */
  seed?: VpcSnapshot
  /** Which bearer tokens are valid (default: any unexpired JWT). */
  isValidToken?: (token: string) => boolean
  /** Collector creation is refused with 403 unless this says yes (default: always no). */
  authorizationCheck?: AuthorizationCheck
  /** Path prefix (default /v1). */
  basePath?: string
  /** GETs of a new collector before it leaves `pending` (default 0: born stable; the fake IBM Cloud passes 2). */
  collectorPolls?: number
  /** Where a pending collector ends up (default stable; `failed` to test the error). */
  collectorFinalState?: string
  /**
   * Creates refused with 400 `service_error` right after the authorization appears, as IBM does while the policy
   * propagates (default 0; the fake IBM Cloud passes 1).
   */
  propagationRefusals?: number
  /** The fake's clock (created_at values, future-version check). */
  now?: () => Date
  /** Region for CRNs (default us-south). */
  region?: string
  account?: string
}

export interface VpcFakeState {
  vpcs: Json[]
  subnets: Json[]
  instances: Json[]
  security_groups: Json[]
  network_acls: Json[]
  floating_ips: Json[]
  virtual_network_interfaces: Json[]
  flow_log_collectors: Json[]
}

export interface VpcFake {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>
  state: VpcFakeState
  /** Every request the fake answered, in order. */
  requests: VpcFakeRequest[]
  setAuthorizationCheck(fn: AuthorizationCheck): void
  setTokenValidator(fn: (token: string) => boolean): void
  /** Make the next matching request(s) fail with `status`. */
  injectFailure(failure: InjectedFailure): void
  /** The current configuration as a snapshot (as a client at `version` would see it). */
  snapshot(version?: string): VpcSnapshot
  basePath: string
}

const NEW_PROTOCOLS_FROM = '2025-12-09'
const OLD_PROTOCOLS = new Set(['all', 'icmp', 'tcp', 'udp'])
const NEW_PROTOCOLS = new Set(['icmp_tcp_udp', 'any', 'icmp', 'tcp', 'udp', 'ah', 'esp', 'gre', 'ip_in_ip', 'l2tp', 'rsvp', 'sctp', 'vrrp'])
const NAME_RE = /^-?([a-z]|[a-z][-a-z0-9]*[a-z0-9]|[0-9][-a-z0-9]*([a-z]|[-a-z][-a-z0-9]*[a-z0-9]))$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const COLLECTIONS = new Set(['vpcs', 'subnets', 'instances', 'security_groups', 'network_acls', 'floating_ips', 'flow_log_collectors', 'virtual_network_interfaces'])

class HttpFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: Json,
  ) {
    super(message)
  }
}

function isCidr(s: unknown): boolean {
  if (typeof s !== 'string') return false
  const [ip, bits, extra] = s.split('/')
  if (extra !== undefined || !IPV4.test(ip)) return false
  if (bits === undefined) return false
  return /^\d+$/.test(bits) && Number(bits) <= 32
}

function isIpOrCidr(s: unknown): boolean {
  return typeof s === 'string' && (IPV4.test(s) || isCidr(s))
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

function decodeJwtPayload(token: string): Json | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Json
  } catch {
    return undefined
  }
}

function defaultTokenValidator(token: string): boolean {
  const payload = decodeJwtPayload(token)
  return Boolean(payload && typeof payload.exp === 'number' && payload.exp * 1000 > Date.now())
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status)
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text)})
  res.end(text)
}

function errorBody(status: number, code: string, message: string, target?: Json) {
  return {
    errors: [{code, message, more_info: 'https://cloud.ibm.com/docs/vpc?topic=vpc-rias-error-messages', ...(target ? {target} : {})}],
    status_code: status,
    trace: randomUUID(),
  }
}

function checkOnly(body: Json, allowed: string[], what: string): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new HttpFail(400, 'validation_invalid_field', `${what}: unknown field '${k}'`, {name: k, type: 'field'})
  }
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HttpFail(400, 'validation_invalid_value', `${name} must be an integer between ${min} and ${max}`, {name, type: 'field'})
  }
  return v
}

export function createVpcFake(options: VpcFakeOptions = {}): VpcFake {
  const basePath = (options.basePath ?? '/v1').replace(/\/+$/, '')
  const now = options.now ?? (() => new Date())
  const region = options.region ?? 'us-south'
  const account = options.account ?? '713c783d9a507a53135fe6793c37cc74'
  const seed = clone(options.seed ?? demoVpcSnapshot())
  const state: VpcFakeState = {
    vpcs: (seed.vpcs ?? []) as Json[],
    subnets: (seed.subnets ?? []) as Json[],
    instances: (seed.instances ?? []) as Json[],
    security_groups: (seed.security_groups ?? []) as Json[],
    network_acls: (seed.network_acls ?? []) as Json[],
    floating_ips: (seed.floating_ips ?? []) as Json[],
    virtual_network_interfaces: (seed.virtual_network_interfaces ?? []) as Json[],
    flow_log_collectors: ((seed as Json).flow_log_collectors ?? []) as Json[],
  }
  // Canonical protocol spelling in state: icmp_tcp_udp.
  for (const sg of state.security_groups) for (const r of sg.rules ?? []) if (r.protocol === 'all') r.protocol = 'icmp_tcp_udp'
  for (const acl of state.network_acls) for (const r of acl.rules ?? []) if (r.protocol === 'all') r.protocol = 'icmp_tcp_udp'
  const requests: VpcFakeRequest[] = []
  let authorizationCheck: AuthorizationCheck = options.authorizationCheck ?? (() => false)
  const collectorPolls = options.collectorPolls ?? 0
  const collectorFinalState = options.collectorFinalState ?? 'stable'
  let propagationRefusals = options.propagationRefusals ?? 0
  let isValidToken = options.isValidToken ?? defaultTokenValidator
  const failures: InjectedFailure[] = []

  const crn = (location: string, type: string, id: string) => `crn:v1:bluemix:public:is:${location}:a/${account}::${type}:${id}`
  const newId = () => `r006-${randomUUID()}`

  // ---- rendering ---------------------------------------------------------------------------------------------
  const isNewVersion = (version: string) => version >= NEW_PROTOCOLS_FROM
  const renderProtocol = (p: string, version: string) => (p === 'icmp_tcp_udp' && !isNewVersion(version) ? 'all' : p)

  function renderAclRules(acl: Json, version: string, origin: string): Json[] {
    const rules: Json[] = acl.rules ?? []
    return rules.map((r, i) => {
      const out: Json = {...clone(r), protocol: renderProtocol(r.protocol, version)}
      delete out.before
      const next = rules[i + 1]
      if (next) out.before = {href: next.href ?? `${origin}${basePath}/network_acls/${acl.id}/rules/${next.id}`, id: next.id, name: next.name}
      return out
    })
  }
  function renderAcl(acl: Json, version: string, origin: string): Json {
    const out = clone(acl)
    out.rules = renderAclRules(acl, version, origin)
    out.subnets = state.subnets.filter((s) => s.network_acl?.id === acl.id).map((s) => ({crn: s.crn, href: s.href, id: s.id, name: s.name, resource_type: 'subnet'}))
    return out
  }
  function renderSgRule(r: Json, version: string): Json {
    const out: Json = {...clone(r), protocol: renderProtocol(r.protocol, version)}
    if (!isNewVersion(version)) {
      delete out.local
      delete out.name
    }
    return out
  }
  function renderSg(sg: Json, version: string): Json {
    const out = clone(sg)
    out.rules = (sg.rules ?? []).map((r: Json) => renderSgRule(r, version))
    return out
  }

  // ---- lookups -----------------------------------------------------------------------------------------------
  function find(collection: Json[], id: string, what: string): Json {
    const item = collection.find((x) => x.id === id)
    if (!item) throw new HttpFail(404, `${what}_not_found`, `${what.replace(/_/g, ' ')} '${id}' not found`, {name: 'id', type: 'parameter', value: id})
    return item
  }
  function allNics(): {instance: Json; nic: Json}[] {
    const out: {instance: Json; nic: Json}[] = []
    for (const instance of state.instances) for (const nic of instance.network_interfaces ?? []) out.push({instance, nic})
    return out
  }
  function sgRefsFor(targetId: string): Json[] {
    return state.security_groups
      .filter((sg) => (sg.targets ?? []).some((t: Json) => t.id === targetId))
      .map((sg) => ({crn: sg.crn, href: sg.href, id: sg.id, name: sg.name}))
  }
  function fullNic(instance: Json, nic: Json): Json {
    return {
      allow_ip_spoofing: false,
      created_at: instance.created_at,
      floating_ips: state.floating_ips
        .filter((f) => f.target?.id === nic.id)
        .map((f) => ({address: f.address, crn: f.crn, href: f.href, id: f.id, name: f.name})),
      port_speed: 1000,
      status: 'available',
      type: (instance.primary_network_interface?.id ?? instance.network_interfaces?.[0]?.id) === nic.id ? 'primary' : 'secondary',
      ...clone(nic),
      security_groups: sgRefsFor(nic.id),
    }
  }

  // ---- paging ------------------------------------------------------------------------------------------------
  function page(items: Json[], key: string, path: string, query: Record<string, string>, origin: string): Json {
    let limit = 50
    if (query.limit !== undefined) {
      if (!/^\d+$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > 100) {
        throw new HttpFail(400, 'validation_invalid_value', 'limit must be between 1 and 100', {name: 'limit', type: 'parameter'})
      }
      limit = Number(query.limit)
    }
    let offset = 0
    if (query.start !== undefined) {
      const decoded = Buffer.from(query.start, 'base64url').toString('utf8')
      const m = /^o:(\d+)$/.exec(decoded)
      if (!m || Number(m[1]) > items.length) throw new HttpFail(400, 'validation_invalid_value', 'start token is not valid', {name: 'start', type: 'parameter'})
      offset = Number(m[1])
    }
    const href = (extra: Record<string, string>) => {
      const q = new URLSearchParams()
      for (const [k, v] of Object.entries(query)) if (k !== 'start' && k !== 'limit') q.set(k, v)
      q.set('limit', String(limit))
      for (const [k, v] of Object.entries(extra)) q.set(k, v)
      return `${origin}${basePath}${path}?${q.toString()}`
    }
    const body: Json = {first: {href: href({})}, limit, total_count: items.length, [key]: items.slice(offset, offset + limit)}
    if (offset + limit < items.length) body.next = {href: href({start: Buffer.from(`o:${offset + limit}`).toString('base64url')})}
    return body
  }

  function filter(items: Json[], query: Record<string, string>, fields: Record<string, (x: Json) => unknown>): Json[] {
    let out = items
    for (const [param, get] of Object.entries(fields)) {
      if (query[param] !== undefined) out = out.filter((x) => get(x) === query[param])
    }
    return out
  }

  // ---- validation of prototypes ------------------------------------------------------------------------------
  function validProtocol(p: unknown, version: string): string {
    if (typeof p !== 'string') throw new HttpFail(400, 'validation_required_field_missing', 'protocol is required', {name: 'protocol', type: 'field'})
    const ok = isNewVersion(version) ? NEW_PROTOCOLS.has(p) || /^number_\d{1,3}$/.test(p) : OLD_PROTOCOLS.has(p)
    if (!ok) throw new HttpFail(400, 'validation_invalid_value', `protocol '${p}' is not valid for version ${version}`, {name: 'protocol', type: 'field'})
    return p === 'all' ? 'icmp_tcp_udp' : p
  }
  function validName(name: unknown, siblings: Json[], what: string): string | undefined {
    if (name === undefined) return undefined
    if (typeof name !== 'string' || name.length > 63 || !NAME_RE.test(name)) {
      throw new HttpFail(400, 'validation_invalid_name', `${what} name '${String(name)}' is not valid`, {name: 'name', type: 'field'})
    }
    if (siblings.some((s) => s.name === name)) throw new HttpFail(409, 'conflict', `${what} name '${name}' is already in use`, {name: 'name', type: 'field'})
    return name
  }
  function validPorts(body: Json, minKey: string, maxKey: string, protocol: string): [number, number] | undefined {
    const hasMin = body[minKey] !== undefined
    const hasMax = body[maxKey] !== undefined
    if (!hasMin && !hasMax) return undefined
    if (protocol !== 'tcp' && protocol !== 'udp') throw new HttpFail(400, 'validation_invalid_field', `${minKey}/${maxKey} are only valid for tcp and udp`)
    if (hasMin !== hasMax) throw new HttpFail(400, 'validation_required_field_missing', `${minKey} and ${maxKey} must be given together`)
    const min = int(body[minKey], minKey, 1, 65535)
    const max = int(body[maxKey], maxKey, 1, 65535)
    if (min > max) throw new HttpFail(400, 'validation_invalid_value', `${minKey} must not exceed ${maxKey}`)
    return [min, max]
  }
  function validIcmp(body: Json, protocol: string): void {
    if (body.type === undefined && body.code === undefined) return
    if (protocol !== 'icmp') throw new HttpFail(400, 'validation_invalid_field', 'type/code are only valid for icmp')
    if (body.type !== undefined) int(body.type, 'type', 0, 254)
    if (body.code !== undefined) {
      if (body.type === undefined) throw new HttpFail(400, 'validation_required_field_missing', 'code requires type')
      int(body.code, 'code', 0, 255)
    }
  }

  function createSgRule(sg: Json, body: Json, version: string, origin: string): Json {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpFail(400, 'bad_request', 'body must be a JSON object')
    const allowed = ['direction', 'protocol', 'ip_version', 'port_min', 'port_max', 'type', 'code', 'remote']
    if (isNewVersion(version)) allowed.push('local', 'name')
    checkOnly(body, allowed, 'security group rule')
    if (body.direction !== 'inbound' && body.direction !== 'outbound') {
      throw new HttpFail(400, 'validation_invalid_value', "direction must be 'inbound' or 'outbound'", {name: 'direction', type: 'field'})
    }
    const protocol = validProtocol(body.protocol, version)
    if (body.ip_version !== undefined && body.ip_version !== 'ipv4') throw new HttpFail(400, 'validation_invalid_value', "ip_version must be 'ipv4'")
    const ports = validPorts(body, 'port_min', 'port_max', protocol)
    validIcmp(body, protocol)
    const remote = validRemote(body.remote, 'remote', true)
    const local = body.local === undefined ? undefined : validRemote(body.local, 'local', false)
    const name = validName(body.name, sg.rules ?? [], 'security group rule')
    const id = newId()
    const rule: Json = {
      created_at: now().toISOString(),
      direction: body.direction,
      href: `${origin}${basePath}/security_groups/${sg.id}/rules/${id}`,
      id,
      ip_version: 'ipv4',
      name: name ?? `flowlog-fake-${id.slice(-12)}`,
      protocol,
      remote: remote ?? {cidr_block: '0.0.0.0/0'},
      local: local ?? {cidr_block: '0.0.0.0/0'},
      resource_type: 'security_group_rule',
    }
    if (ports) [rule.port_min, rule.port_max] = ports
    if (body.type !== undefined) rule.type = body.type
    if (body.code !== undefined) rule.code = body.code
    sg.rules = [...(sg.rules ?? []), rule]
    return rule
  }

  function validRemote(remote: unknown, field: string, allowGroup: boolean): Json | undefined {
    if (remote === undefined) return undefined
    if (!remote || typeof remote !== 'object' || Array.isArray(remote)) throw new HttpFail(400, 'validation_invalid_value', `${field} must be an object`)
    const r = remote as Json
    const keys = Object.keys(r)
    if (keys.length !== 1) throw new HttpFail(400, 'validation_invalid_value', `${field} must have exactly one of cidr_block, address${allowGroup ? ', id, crn, href' : ''}`)
    const [k] = keys
    if (k === 'cidr_block') {
      if (!isCidr(r.cidr_block)) throw new HttpFail(400, 'validation_invalid_value', `${field}.cidr_block '${r.cidr_block}' is not a valid CIDR`)
      return {cidr_block: r.cidr_block}
    }
    if (k === 'address') {
      if (typeof r.address !== 'string' || !IPV4.test(r.address)) throw new HttpFail(400, 'validation_invalid_value', `${field}.address '${r.address}' is not a valid IPv4 address`)
      return {address: r.address}
    }
    if (allowGroup && (k === 'id' || k === 'crn' || k === 'href')) {
      const sg = state.security_groups.find((g) => g[k] === r[k])
      if (!sg) throw new HttpFail(404, 'security_group_not_found', `${field} security group '${r[k]}' not found`)
      return {crn: sg.crn, href: sg.href, id: sg.id, name: sg.name}
    }
    throw new HttpFail(400, 'validation_invalid_field', `${field}: unknown field '${k}'`)
  }

  function createAclRule(acl: Json, body: Json, version: string, origin: string): Json {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpFail(400, 'bad_request', 'body must be a JSON object')
    checkOnly(
      body,
      ['action', 'direction', 'protocol', 'source', 'destination', 'ip_version', 'name', 'before', 'source_port_min', 'source_port_max', 'destination_port_min', 'destination_port_max', 'type', 'code'],
      'network ACL rule',
    )
    if (body.action !== 'allow' && body.action !== 'deny') throw new HttpFail(400, 'validation_invalid_value', "action must be 'allow' or 'deny'", {name: 'action', type: 'field'})
    if (body.direction !== 'inbound' && body.direction !== 'outbound') throw new HttpFail(400, 'validation_invalid_value', "direction must be 'inbound' or 'outbound'", {name: 'direction', type: 'field'})
    const protocol = validProtocol(body.protocol, version)
    if (body.action === 'deny' && protocol === 'icmp_tcp_udp' && isNewVersion(version)) {
      throw new HttpFail(400, 'validation_invalid_value', "deny rules cannot use protocol 'icmp_tcp_udp'; use 'any'", {name: 'protocol', type: 'field'})
    }
    for (const f of ['source', 'destination']) {
      if (body[f] === undefined) throw new HttpFail(400, 'validation_required_field_missing', `${f} is required`, {name: f, type: 'field'})
      if (!isIpOrCidr(body[f])) throw new HttpFail(400, 'validation_invalid_value', `${f} '${body[f]}' is not a valid IP address or CIDR`, {name: f, type: 'field'})
    }
    if (body.ip_version !== undefined && body.ip_version !== 'ipv4') throw new HttpFail(400, 'validation_invalid_value', "ip_version must be 'ipv4'")
    const src = validPorts(body, 'source_port_min', 'source_port_max', protocol)
    const dst = validPorts(body, 'destination_port_min', 'destination_port_max', protocol)
    validIcmp(body, protocol)
    const name = validName(body.name, acl.rules ?? [], 'network ACL rule')
    let index = (acl.rules ?? []).length
    if (body.before !== undefined) {
      const b = body.before as Json
      if (!b || typeof b !== 'object' || Object.keys(b).length !== 1 || (b.id === undefined && b.href === undefined)) {
        throw new HttpFail(400, 'validation_invalid_value', 'before must be {id} or {href}')
      }
      index = (acl.rules ?? []).findIndex((r: Json) => (b.id !== undefined ? r.id === b.id : r.href === b.href))
      if (index < 0) throw new HttpFail(404, 'network_acl_rule_not_found', `before: rule '${b.id ?? b.href}' not found in network ACL '${acl.id}'`)
    }
    const id = newId()
    const rule: Json = {
      action: body.action,
      created_at: now().toISOString(),
      destination: body.destination,
      direction: body.direction,
      href: `${origin}${basePath}/network_acls/${acl.id}/rules/${id}`,
      id,
      ip_version: 'ipv4',
      name: name ?? `flowlog-fake-${id.slice(-12)}`,
      protocol,
      source: body.source,
    }
    if (protocol === 'tcp' || protocol === 'udp') {
      ;[rule.source_port_min, rule.source_port_max] = src ?? [1, 65535]
      ;[rule.destination_port_min, rule.destination_port_max] = dst ?? [1, 65535]
    }
    if (body.type !== undefined) rule.type = body.type
    if (body.code !== undefined) rule.code = body.code
    const rules = [...(acl.rules ?? [])]
    rules.splice(index, 0, rule)
    acl.rules = rules
    return rule
  }

  function resolveCollectorTarget(t: Json): Json {
    if (!t || typeof t !== 'object') throw new HttpFail(400, 'validation_required_field_missing', 'target is required', {name: 'target', type: 'field'})
    const keys = Object.keys(t)
    if (keys.length !== 1 || !['id', 'crn', 'href'].includes(keys[0])) throw new HttpFail(400, 'validation_invalid_value', 'target must be exactly one of {id}, {crn}, {href}')
    const [k] = keys
    const match = (x: Json) => x[k] === t[k]
    const vpc = state.vpcs.find(match)
    if (vpc) return {ref: {crn: vpc.crn, href: vpc.href, id: vpc.id, name: vpc.name, resource_type: 'vpc'}, vpc}
    const subnet = state.subnets.find(match)
    if (subnet) return {ref: {crn: subnet.crn, href: subnet.href, id: subnet.id, name: subnet.name, resource_type: 'subnet'}, vpcId: subnet.vpc?.id}
    const instance = state.instances.find(match)
    if (instance) return {ref: {crn: instance.crn, href: instance.href, id: instance.id, name: instance.name, resource_type: 'instance'}, vpcId: instance.vpc?.id}
    for (const {instance: inst, nic} of allNics()) {
      if (match(nic)) return {ref: {href: nic.href, id: nic.id, name: nic.name, resource_type: 'network_interface'}, vpcId: inst.vpc?.id}
    }
    const vni = state.virtual_network_interfaces.find(match)
    if (vni) return {ref: {crn: vni.crn, href: vni.href, id: vni.id, name: vni.name, resource_type: 'virtual_network_interface'}, vpcId: vni.vpc?.id}
    throw new HttpFail(404, 'flow_log_collector_target_not_found', `flow log collector target '${t[k]}' not found`, {name: 'target', type: 'field'})
  }

  async function createCollector(body: Json, token: string, origin: string): Promise<Json> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpFail(400, 'bad_request', 'body must be a JSON object')
    checkOnly(body, ['name', 'target', 'storage_bucket', 'active', 'resource_group'], 'flow log collector')
    const resolved = resolveCollectorTarget(body.target)
    const bucket = body.storage_bucket
    if (!bucket || typeof bucket !== 'object' || typeof bucket.name !== 'string' || bucket.name === '' || Object.keys(bucket).length !== 1) {
      throw new HttpFail(400, 'validation_required_field_missing', 'storage_bucket.name is required', {name: 'storage_bucket', type: 'field'})
    }
    if (body.active !== undefined && typeof body.active !== 'boolean') throw new HttpFail(400, 'validation_invalid_value', 'active must be a boolean')
    if (body.resource_group !== undefined && (typeof body.resource_group !== 'object' || typeof body.resource_group.id !== 'string')) {
      throw new HttpFail(400, 'validation_invalid_value', 'resource_group must be {id}')
    }
    if (body.name !== undefined) validName(body.name, state.flow_log_collectors, 'flow log collector')
    if (state.flow_log_collectors.some((c) => c.target.id === resolved.ref.id)) {
      throw new HttpFail(409, 'flow_log_collector_duplicate', `a flow log collector already exists for target '${resolved.ref.id}'`, {name: 'target', type: 'field'})
    }
    const allowed = await authorizationCheck({bucket: bucket.name, target: resolved.ref, resourceGroupId: body.resource_group?.id, token})
    if (!allowed) {
      throw new HttpFail(
        403,
        'cos_bucket_authorization_missing',
        `Your Cloud Object Storage (COS) bucket is missing the required IAM authorization. Create an authorization policy that gives the flow-log-collector service Writer access to the COS instance of bucket '${bucket.name}'. (Error response code returned from COS Config call: 403)`,
      )
    }
    if (propagationRefusals > 0) {
      propagationRefusals -= 1
      throw new HttpFail(400, 'service_error', 'The service is unable to process your request: the flow log collector could not verify access to the bucket. Try again later.')
    }
    const vpcId = resolved.vpc?.id ?? resolved.vpcId
    const vpc = state.vpcs.find((v) => v.id === vpcId)
    const id = newId()
    const collector: Json = {
      active: body.active ?? true,
      auto_delete: false,
      created_at: now().toISOString(),
      crn: crn(region, 'flow-log-collector', id),
      href: `${origin}${basePath}/flow_log_collectors/${id}`,
      id,
      // Real collectors are born pending and become stable a little later (fake: after `collectorPolls` GETs).
      lifecycle_state: collectorPolls > 0 ? 'pending' : 'stable',
      name: body.name ?? `flowlog-fake-${id.slice(-12)}`,
      resource_group: {id: body.resource_group?.id ?? 'fee82deba12e4c0fb69c3b09d1f12345', href: '', name: 'default'},
      storage_bucket: {name: bucket.name},
      target: resolved.ref,
      vpc: vpc ? {crn: vpc.crn, href: vpc.href, id: vpc.id, name: vpc.name, resource_type: 'vpc'} : undefined,
    }
    state.flow_log_collectors.push(collector)
    return collector
  }

  // ---- routing -----------------------------------------------------------------------------------------------
  async function route(method: string, parts: string[], query: Record<string, string>, body: Json | undefined, version: string, origin: string, token: string): Promise<[number, unknown]> {
    const [collection, id, sub, subId, extra] = parts
    const notAllowed = (): never => {
      throw new HttpFail(405, 'method_not_allowed', `${method} is not allowed on ${basePath}/${parts.join('/')}`)
    }
    const notFound = (): never => {
      throw new HttpFail(404, 'not_found', `no route ${method} ${basePath}/${parts.join('/')}`)
    }
    if (extra !== undefined) notFound()
    switch (collection) {
      case 'vpcs': {
        if (method !== 'GET') notAllowed()
        if (!id) return [200, page(filter(state.vpcs, query, {name: (x) => x.name}), 'vpcs', '/vpcs', query, origin)]
        if (sub) notFound()
        return [200, clone(find(state.vpcs, id, 'vpc'))]
      }
      case 'subnets': {
        if (method !== 'GET') notAllowed()
        if (!id) return [200, page(filter(state.subnets, query, {'vpc.id': (x) => x.vpc?.id, name: (x) => x.name}), 'subnets', '/subnets', query, origin)]
        const subnet = find(state.subnets, id, 'subnet')
        if (!sub) return [200, clone(subnet)]
        if (sub === 'network_acl' && !subId) return [200, renderAcl(find(state.network_acls, subnet.network_acl.id, 'network_acl'), version, origin)]
        return notFound()
      }
      case 'instances': {
        if (method !== 'GET') notAllowed()
        if (!id) return [200, page(filter(state.instances, query, {'vpc.id': (x) => x.vpc?.id, name: (x) => x.name}), 'instances', '/instances', query, origin)]
        const instance = find(state.instances, id, 'instance')
        if (!sub) return [200, clone(instance)]
        if (sub === 'network_interfaces') {
          const nics: Json[] = instance.network_interfaces ?? []
          if (!subId) return [200, {network_interfaces: nics.map((n) => fullNic(instance, n))}]
          return [200, fullNic(instance, find(nics, subId, 'network_interface'))]
        }
        if (sub === 'network_attachments') {
          const atts: Json[] = instance.network_attachments ?? []
          if (!subId) return [200, {network_attachments: clone(atts)}]
          return [200, clone(find(atts, subId, 'network_attachment'))]
        }
        return notFound()
      }
      case 'virtual_network_interfaces': {
        if (method !== 'GET') notAllowed()
        if (!id) return [200, page(state.virtual_network_interfaces, 'virtual_network_interfaces', '/virtual_network_interfaces', query, origin)]
        if (sub) notFound()
        const vni = clone(find(state.virtual_network_interfaces, id, 'virtual_network_interface'))
        vni.security_groups = sgRefsFor(id)
        return [200, vni]
      }
      case 'floating_ips': {
        if (method !== 'GET') notAllowed()
        if (!id) return [200, page(state.floating_ips, 'floating_ips', '/floating_ips', query, origin)]
        if (sub) notFound()
        return [200, clone(find(state.floating_ips, id, 'floating_ip'))]
      }
      case 'security_groups': {
        if (!id) {
          if (method !== 'GET') notAllowed()
          const items = filter(state.security_groups, query, {'vpc.id': (x) => x.vpc?.id, name: (x) => x.name}).map((g) => renderSg(g, version))
          return [200, page(items, 'security_groups', '/security_groups', query, origin)]
        }
        const sg = find(state.security_groups, id, 'security_group')
        if (!sub) {
          if (method !== 'GET') notAllowed()
          return [200, renderSg(sg, version)]
        }
        if (sub === 'targets') {
          if (method !== 'GET' || subId) notAllowed()
          return [200, page(clone(sg.targets ?? []), 'targets', `/security_groups/${id}/targets`, query, origin)]
        }
        if (sub !== 'rules') notFound()
        if (!subId) {
          if (method === 'GET') return [200, {rules: (sg.rules ?? []).map((r: Json) => renderSgRule(r, version))}]
          if (method === 'POST') return [201, renderSgRule(createSgRule(sg, body as Json, version, origin), version)]
          return notAllowed()
        }
        const rule = find(sg.rules ?? [], subId, 'security_group_rule')
        if (method === 'GET') return [200, renderSgRule(rule, version)]
        if (method === 'DELETE') {
          sg.rules = sg.rules.filter((r: Json) => r.id !== subId)
          return [204, undefined]
        }
        return notAllowed()
      }
      case 'network_acls': {
        if (!id) {
          if (method !== 'GET') notAllowed()
          // GET /network_acls has no vpc.id (or vpc.*) filter (vpc-node-sdk vpc/v1.ts listNetworkAcls: start, limit,
          // resource_group.id only): reject one instead of silently filtering.
          for (const k of Object.keys(query)) {
            if (k.startsWith('vpc.')) throw new HttpFail(400, 'validation_invalid_parameter', `unknown query parameter '${k}' for GET /network_acls`, {name: k, type: 'parameter'})
          }
          const items = filter(state.network_acls, query, {'resource_group.id': (x) => x.resource_group?.id}).map((a) => renderAcl(a, version, origin))
          return [200, page(items, 'network_acls', '/network_acls', query, origin)]
        }
        const acl = find(state.network_acls, id, 'network_acl')
        if (!sub) {
          if (method !== 'GET') notAllowed()
          return [200, renderAcl(acl, version, origin)]
        }
        if (sub !== 'rules') notFound()
        if (!subId) {
          if (method === 'GET') {
            if (query.direction !== undefined && query.direction !== 'inbound' && query.direction !== 'outbound') {
              throw new HttpFail(400, 'validation_invalid_value', "direction must be 'inbound' or 'outbound'", {name: 'direction', type: 'parameter'})
            }
            const rules = renderAclRules(acl, version, origin).filter((r) => query.direction === undefined || r.direction === query.direction)
            return [200, page(rules, 'rules', `/network_acls/${id}/rules`, query, origin)]
          }
          if (method === 'POST') {
            const created = createAclRule(acl, body as Json, version, origin)
            return [201, renderAclRules(acl, version, origin).find((r) => r.id === created.id)]
          }
          return notAllowed()
        }
        find(acl.rules ?? [], subId, 'network_acl_rule')
        if (method === 'GET') return [200, renderAclRules(acl, version, origin).find((r) => r.id === subId)]
        if (method === 'DELETE') {
          acl.rules = acl.rules.filter((r: Json) => r.id !== subId)
          return [204, undefined]
        }
        return notAllowed()
      }
      case 'flow_log_collectors': {
        if (!id) {
          if (method === 'GET') {
            const items = filter(state.flow_log_collectors, query, {
              name: (x) => x.name,
              'vpc.id': (x) => x.vpc?.id,
              'vpc.crn': (x) => x.vpc?.crn,
              'vpc.name': (x) => x.vpc?.name,
              'target.id': (x) => x.target?.id,
              'target.resource_type': (x) => x.target?.resource_type,
              'resource_group.id': (x) => x.resource_group?.id,
            })
            return [200, page(clone(items).map((x) => {
              delete x.__polls
              return x
            }), 'flow_log_collectors', '/flow_log_collectors', query, origin)]
          }
          if (method === 'POST') return [201, clone(await createCollector(body as Json, token, origin))]
          return notAllowed()
        }
        if (sub) notFound()
        const collector = find(state.flow_log_collectors, id, 'flow_log_collector')
        if (method === 'GET') {
          if (collector.lifecycle_state === 'pending') {
            collector.__polls = (collector.__polls ?? 0) + 1
            if (collector.__polls >= collectorPolls) {
              collector.lifecycle_state = collectorFinalState
              delete collector.__polls
            }
          }
          const out = clone(collector)
          delete out.__polls
          return [200, out]
        }
        if (method === 'DELETE') {
          state.flow_log_collectors = state.flow_log_collectors.filter((c) => c.id !== id)
          return [204, undefined]
        }
        if (method === 'PATCH') {
          const patch = body as Json
          if (!patch || typeof patch !== 'object') throw new HttpFail(400, 'bad_request', 'body must be a JSON object')
          checkOnly(patch, ['active', 'name'], 'flow log collector patch')
          if (patch.active !== undefined) {
            if (typeof patch.active !== 'boolean') throw new HttpFail(400, 'validation_invalid_value', 'active must be a boolean')
            collector.active = patch.active
          }
          if (patch.name !== undefined) {
            validName(patch.name, state.flow_log_collectors.filter((c) => c.id !== id), 'flow log collector')
            collector.name = patch.name
          }
          return [200, clone(collector)]
        }
        return notAllowed()
      }
    }
    return notFound()
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid')
    if (!url.pathname.startsWith(`${basePath}/`)) return false
    const parts = url.pathname.slice(basePath.length + 1).split('/').filter(Boolean).map(decodeURIComponent)
    if (!COLLECTIONS.has(parts[0] ?? '')) return false
    const method = (req.method ?? 'GET').toUpperCase()
    const query: Record<string, string> = {}
    for (const [k, v] of url.searchParams) query[k] = v
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`
    const entry: VpcFakeRequest = {method, path: url.pathname, query, status: 0, authorized: false}
    requests.push(entry)
    const reply = (status: number, body?: unknown) => {
      entry.status = status
      send(res, status, body)
      return true
    }
    try {
      const text = await readBody(req)
      if (text !== '') {
        const type = String(req.headers['content-type'] ?? '')
        if (!/^application\/(merge-patch\+)?json/.test(type)) throw new HttpFail(415, 'unsupported_media_type', `Content-Type must be application/json (got '${type}')`)
        try {
          entry.body = JSON.parse(text)
        } catch {
          throw new HttpFail(400, 'bad_request', 'body is not valid JSON')
        }
      }
      if (method === 'PATCH' && !/^application\/merge-patch\+json/.test(String(req.headers['content-type'] ?? ''))) {
        throw new HttpFail(415, 'unsupported_media_type', 'PATCH requires Content-Type application/merge-patch+json')
      }
      const auth = String(req.headers.authorization ?? '')
      const m = /^Bearer\s+(\S+)$/.exec(auth)
      if (!m || !isValidToken(m[1])) {
        throw new HttpFail(401, 'not_authorized', 'The request is not authorized: missing or invalid bearer token')
      }
      entry.authorized = true
      const version = query.version
      if (version === undefined) throw new HttpFail(400, 'missing_version', 'The `version` query parameter is required', {name: 'version', type: 'parameter'})
      if (!/^\d{4}-\d{2}-\d{2}$/.test(version) || Number.isNaN(Date.parse(`${version}T00:00:00Z`))) {
        throw new HttpFail(400, 'invalid_version', `version '${version}' is not a valid date (YYYY-MM-DD)`, {name: 'version', type: 'parameter'})
      }
      if (version < '2019-01-01' || version > now().toISOString().slice(0, 10)) {
        throw new HttpFail(400, 'invalid_version', `version '${version}' must be between 2019-01-01 and today`, {name: 'version', type: 'parameter'})
      }
      if (query.generation === undefined) throw new HttpFail(400, 'missing_generation', 'The `generation` query parameter is required', {name: 'generation', type: 'parameter'})
      if (query.generation !== '2') throw new HttpFail(400, 'invalid_generation', 'generation must be 2', {name: 'generation', type: 'parameter'})
      const fi = failures.findIndex((f) => (f.method === undefined || f.method === method) && (f.path === undefined || f.path.test(url.pathname)))
      if (fi >= 0) {
        const f = failures[fi]
        f.times = (f.times ?? 1) - 1
        if (f.times <= 0) failures.splice(fi, 1)
        return reply(f.status, f.body ?? errorBody(f.status, f.status >= 500 ? 'internal_error' : 'injected', `injected failure ${f.status}`))
      }
      const [status, body] = await route(method, parts, query, entry.body as Json | undefined, version, origin, m[1])
      return reply(status, body)
    } catch (error) {
      if (error instanceof HttpFail) return reply(error.status, errorBody(error.status, error.code, error.message, error.target))
      return reply(500, errorBody(500, 'internal_error', String((error as Error)?.message ?? error)))
    }
  }

  return {
    handle,
    get state() {
      return state
    },
    requests,
    basePath,
    setAuthorizationCheck(fn) {
      authorizationCheck = fn
    },
    setTokenValidator(fn) {
      isValidToken = fn
    },
    injectFailure(failure) {
      failures.push({...failure, times: failure.times ?? 1})
    },
    snapshot(version = '2026-03-24') {
      const origin = `https://${region}.iaas.cloud.ibm.com`
      return {
        vpcs: clone(state.vpcs),
        subnets: clone(state.subnets),
        instances: clone(state.instances),
        security_groups: state.security_groups.map((g) => renderSg(g, version)),
        network_acls: state.network_acls.map((a) => renderAcl(a, version, origin)),
        floating_ips: clone(state.floating_ips),
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Standalone server (tests)
// ---------------------------------------------------------------------------------------------------------------

export interface StartVpcFakeOptions extends VpcFakeOptions {
  /** Also serve `POST /identity/token` (IAM) on the same server; only tokens it issues are then valid. */
  iam?: boolean
  /** API keys the embedded IAM accepts (default: ['test-api-key-0123456789']). */
  apiKeys?: string[]
}

export interface RunningVpcFake {
  /** Base URL ending in /v1 (for FLOWLOG_VPC_URL). */
  url: string
  /** IAM base URL (for FLOWLOG_IAM_URL) when `iam` is on. */
  iamUrl: string
  fake: VpcFake
  /** Tokens issued by the embedded IAM. */
  issued: Set<string>
  /** Token requests the embedded IAM received. */
  tokenRequests: number
  server: Server
  close(): Promise<void>
}

export const TEST_API_KEY = 'test-api-key-0123456789'

function makeJwt(account: string): string {
  const now = Math.floor(Date.now() / 1000)
  const header = Buffer.from(JSON.stringify({alg: 'RS256', typ: 'JWT'})).toString('base64url')
  const payload = Buffer.from(
    JSON.stringify({iam_id: 'iam-ServiceId-fake', sub: 'ServiceId-fake', iat: now, exp: now + 3600, account: {bss: account}, jti: randomUUID()}),
  ).toString('base64url')
  return `${header}.${payload}.${Buffer.from('fake-signature').toString('base64url')}`
}

export async function startVpcFake(options: StartVpcFakeOptions = {}): Promise<RunningVpcFake> {
  const issued = new Set<string>()
  const apiKeys = new Set(options.apiKeys ?? [TEST_API_KEY])
  const fake = createVpcFake({...options, isValidToken: options.isValidToken ?? (options.iam ? (t) => issued.has(t) : undefined)})
  const running = {tokenRequests: 0} as RunningVpcFake
  const server = createServer(async (req, res) => {
    try {
      if (options.iam && req.method === 'POST' && (req.url ?? '').split('?')[0] === '/identity/token') {
        running.tokenRequests++
        const form = new URLSearchParams(await readBody(req))
        const key = form.get('apikey')
        if (form.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey' || !key || !apiKeys.has(key)) {
          send(res, 400, {errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found', context: {requestId: randomUUID()}})
          return
        }
        const token = makeJwt(options.account ?? '713c783d9a507a53135fe6793c37cc74')
        issued.add(token)
        send(res, 200, {access_token: token, refresh_token: 'not-supported', token_type: 'Bearer', expires_in: 3600, expiration: Math.floor(Date.now() / 1000) + 3600, scope: 'ibm openid'})
        return
      }
      if (await fake.handle(req, res)) return
      send(res, 404, errorBody(404, 'not_found', `no route ${req.method} ${req.url}`))
    } catch (error) {
      if (!res.headersSent) send(res, 500, errorBody(500, 'internal_error', String(error)))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  running.url = `${origin}${fake.basePath}`
  running.iamUrl = origin
  running.fake = fake
  running.issued = issued
  running.server = server
  running.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections?.()
      server.close(() => resolve())
    })
  return running
}
