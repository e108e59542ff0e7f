import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {type Home, readJsonFile, writeJsonFile} from './config/home.js'
import type {FlowlogConfig} from './config/settings.js'
import {errorMessage, redact} from './errors.js'

/**
 * Names for IP addresses, shown beside private IPs in tables: instance and interface names from the VPC snapshot
 * (`<home>/vpc-snapshot.json`, written by `flowlog demo` and `flowlog vpc export`), or from the VPC API when an API
 * key is available (cached for an hour under the home).
 *
 * Labels:
 * - an instance's interface:           `vsi-name/eth0` (network_interfaces[] and network_attachments[])
 * - a virtual network interface:       its name
 * - load balancer / endpoint gateway:  `lb:name` / `vpe:name`
 * - a floating IP:                     `fip:name`
 * - a subnet's gateway (first host):   `subnet-name gateway`
 */
export type NameMap = Map<string, string>

export type NamesMode = 'auto' | 'snapshot' | 'live' | 'off'

export interface NamesResult {
  names: NameMap
  source: 'snapshot' | 'live' | 'cache' | 'none'
  warnings: string[]
}

type Obj = Record<string, unknown>

const asArray = (v: unknown): Obj[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Obj[]) : [])
const asObj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function ipOf(v: unknown): string | undefined {
  const s = str(v)
  return s && IPV4.test(s) ? s : undefined
}

/** The first host address of an IPv4 CIDR block (the VPC subnet gateway), or undefined. */
export function gatewayOf(cidr: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr)
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const bits = Number(m[5])
  if (octets.some((o) => o > 255) || bits > 30) return undefined
  const ip = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  const gw = ((ip & mask) + 1) >>> 0
  return [gw >>> 24, (gw >>> 16) & 255, (gw >>> 8) & 255, gw & 255].join('.')
}

/** Build the name map from snapshot collections (items as the VPC API returns them). */
export function namesFromSnapshot(snapshot: Obj): NameMap {
  const names: NameMap = new Map()
  const set = (ip: string | undefined, label: string | undefined, override = false) => {
    if (!ip || !label) return
    if (override || !names.has(ip)) names.set(ip, label)
  }
  // Weakest first: later, more specific labels override.
  for (const s of asArray(snapshot.subnets)) {
    const cidr = str(s.ipv4_cidr_block)
    const name = str(s.name)
    if (cidr && name) set(gatewayOf(cidr), `${name} gateway`)
  }
  for (const f of asArray(snapshot.floating_ips)) {
    set(ipOf(f.address), str(f.name) ? `fip:${f.name}` : undefined, true)
  }
  for (const lb of asArray(snapshot.load_balancers)) {
    for (const p of asArray(lb.private_ips)) set(ipOf(p.address), str(lb.name) ? `lb:${lb.name}` : undefined, true)
  }
  for (const g of asArray(snapshot.endpoint_gateways)) {
    for (const p of asArray(g.ips)) set(ipOf(p.address), str(g.name) ? `vpe:${g.name}` : undefined, true)
  }
  for (const v of asArray(snapshot.virtual_network_interfaces)) {
    const primary = asObj(v.primary_ip)
    set(ipOf(primary?.address), str(v.name), true)
    for (const ip of asArray(v.ips)) set(ipOf(ip.address), str(v.name), true)
  }
  for (const inst of asArray(snapshot.instances)) {
    const instName = str(inst.name)
    if (!instName) continue
    const nics = [...asArray(inst.network_interfaces)]
    const primaryNic = asObj(inst.primary_network_interface)
    if (primaryNic && !nics.some((n) => n.id === primaryNic.id)) nics.push(primaryNic)
    for (const nic of nics) {
      const primary = asObj(nic.primary_ip)
      set(ipOf(primary?.address), str(nic.name) ? `${instName}/${nic.name}` : instName, true)
    }
    const attachments = [...asArray(inst.network_attachments)]
    const primaryAtt = asObj(inst.primary_network_attachment)
    if (primaryAtt && !attachments.some((a) => a.id === primaryAtt.id)) attachments.push(primaryAtt)
    for (const att of attachments) {
      const vni = asObj(att.virtual_network_interface)
      const label = str(vni?.name) ?? str(att.name)
      const primary = asObj(att.primary_ip) ?? asObj(vni?.primary_ip)
      set(ipOf(primary?.address), label ? `${instName}/${label}` : instName, true)
    }
  }
  return names
}

/** The live VPC API, narrowed to what names need (injected in tests; built from the API key otherwise). */
export interface VpcNamesClient {
  listInstances(): Promise<unknown[]>
  listSubnets(): Promise<unknown[]>
  listVirtualNetworkInterfaces?(): Promise<unknown[]>
  listFloatingIps?(): Promise<unknown[]>
}

export interface LoadNamesOptions {
  mode?: NamesMode
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  /** Default `<home>/vpc-snapshot.json`. */
  snapshotPath?: string
  /** Builds the live client; default: the VPC client from the API key (only called when a key is available). */
  vpcClient?: () => Promise<VpcNamesClient | undefined>
  now?: () => number
  /** Live lookups are cached this long (default 1 h). */
  cacheTtlMs?: number
  /** A failed live lookup is not tried again for this long (default 10 min), so offline commands stay fast. */
  failureTtlMs?: number
  /** Give up on the live API after this long (default 8 s): names are a nicety, never a wait. */
  timeoutMs?: number
}

export function snapshotPathOf(home: Pick<Home, 'root'>): string {
  return join(home.root, 'vpc-snapshot.json')
}

function cachePathOf(home: Pick<Home, 'cacheDir'>): string {
  return join(home.cacheDir, 'names.json')
}

async function defaultVpcClient(options: LoadNamesOptions): Promise<VpcNamesClient | undefined> {
  const {hasApiKey} = await import('./ibmcloud/credentials.js')
  const env = options.env ?? process.env
  if (!hasApiKey({env, config: options.config})) return undefined
  const {createVpcClient} = await import('./ibmcloud/vpc.js')
  const client = createVpcClient({env, config: options.config})
  return {
    listInstances: () => client.listInstances(),
    listSubnets: () => client.listSubnets(),
    listVirtualNetworkInterfaces: () => client.listVirtualNetworkInterfaces(),
    listFloatingIps: () => client.listFloatingIps(),
  }
}

async function liveSnapshot(client: VpcNamesClient): Promise<Obj> {
  const optional = async (f?: () => Promise<unknown[]>) => {
    if (!f) return []
    try {
      return await f()
    } catch {
      return [] // older API versions or missing permissions: fewer names, not a failure
    }
  }
  const [instances, subnets, vnis, fips] = await Promise.all([
    client.listInstances(),
    client.listSubnets(),
    optional(client.listVirtualNetworkInterfaces?.bind(client)),
    optional(client.listFloatingIps?.bind(client)),
  ])
  return {instances, subnets, virtual_network_interfaces: vnis, floating_ips: fips}
}

/**
 * The names available: the snapshot when there is one (mode auto/snapshot), else the live API when an API key is
 * available (mode auto/live; cached). Never throws for a missing or broken source: it returns no names and a warning.
 */
export async function loadNames(home: Pick<Home, 'root' | 'cacheDir'>, options: LoadNamesOptions = {}): Promise<NamesResult> {
  const mode = options.mode ?? 'auto'
  const warnings: string[] = []
  const none = (): NamesResult => ({names: new Map(), source: 'none', warnings})
  if (mode === 'off') return none()
  const snapshotPath = options.snapshotPath ?? snapshotPathOf(home)
  if (mode !== 'live' && existsSync(snapshotPath)) {
    try {
      const snapshot = await readJsonFile<Obj>(snapshotPath)
      if (snapshot && typeof snapshot === 'object') return {names: namesFromSnapshot(snapshot), source: 'snapshot', warnings}
      warnings.push(`${snapshotPath} does not hold a VPC snapshot; no names shown`)
    } catch (error) {
      warnings.push(`cannot read ${snapshotPath}: ${errorMessage(error)}; no names shown`)
    }
    return none()
  }
  if (mode === 'snapshot') return none()
  const now = (options.now ?? Date.now)()
  const ttl = options.cacheTtlMs ?? 3_600_000
  const failureTtl = options.failureTtlMs ?? 600_000
  const cachePath = cachePathOf(home)
  try {
    const cached = await readJsonFile<{at: number; names: [string, string][]; failed?: string}>(cachePath)
    if (cached && typeof cached.at === 'number' && Array.isArray(cached.names)) {
      if (cached.failed && now - cached.at < failureTtl) return none()
      if (!cached.failed && now - cached.at < ttl) return {names: new Map(cached.names), source: 'cache', warnings}
    }
  } catch {
    // a broken cache is rebuilt
  }
  let client: VpcNamesClient | undefined
  try {
    client = await (options.vpcClient ?? (() => defaultVpcClient(options)))()
  } catch (error) {
    warnings.push(`cannot reach the VPC API for names: ${errorMessage(error)}`)
    return none()
  }
  if (!client) return none()
  const timeoutMs = options.timeoutMs ?? 8000
  let timer: NodeJS.Timeout | undefined
  try {
    const snapshot = await Promise.race([
      liveSnapshot(client),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs)
      }),
    ])
    const names = namesFromSnapshot(snapshot)
    await writeJsonFile(cachePath, {at: now, names: [...names]}).catch(() => undefined)
    return {names, source: 'live', warnings}
  } catch (error) {
    warnings.push(`no names from the VPC API: ${redact(errorMessage(error))} (not tried again for ${Math.round(failureTtl / 60_000)} min; --no-names turns names off)`)
    await writeJsonFile(cachePath, {at: now, names: [], failed: redact(errorMessage(error)).slice(0, 200)}).catch(() => undefined)
    return none()
  } finally {
    clearTimeout(timer)
  }
}

/** `10.240.0.4 (vsi1/eth0)` when named, else the address. */
export function withName(ip: string, names: NameMap | undefined): string {
  const n = names?.get(ip)
  return n ? `${ip} (${n})` : ip
}
