/** IPv4 helpers for rule evaluation: addresses as unsigned 32-bit numbers, CIDR containment, address classes. */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export function parseIpv4(text: string | undefined | null): number | undefined {
  if (typeof text !== 'string') return undefined
  const m = IPV4.exec(text.trim())
  if (!m) return undefined
  let n = 0
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i])
    if (octet > 255) return undefined
    n = n * 256 + octet
  }
  return n
}

export function isIpv4(text: string | undefined | null): boolean {
  return parseIpv4(text) !== undefined
}

export interface Cidr {
  base: number
  bits: number
  text: string
}

/** `a.b.c.d/n` or a plain address (= /32). */
export function parseCidr(text: string | undefined | null): Cidr | undefined {
  if (typeof text !== 'string') return undefined
  const [addr, bitsText, extra] = text.trim().split('/')
  if (extra !== undefined) return undefined
  const ip = parseIpv4(addr)
  if (ip === undefined) return undefined
  let bits = 32
  if (bitsText !== undefined) {
    if (!/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32) return undefined
    bits = Number(bitsText)
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return {base: (ip & mask) >>> 0, bits, text: text.trim()}
}

export function cidrContainsIp(cidr: Cidr | string | undefined, ip: string | number): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr
  if (!c) return false
  const n = typeof ip === 'number' ? ip : parseIpv4(ip)
  if (n === undefined) return false
  const mask = c.bits === 0 ? 0 : (0xffffffff << (32 - c.bits)) >>> 0
  return ((n & mask) >>> 0) === c.base
}

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16'].map((c) => parseCidr(c)!)
/** IBM service addresses (DNS, NTP, mirrors on 161.26.0.0/16; private service endpoints on 166.8.0.0/14). */
const IBM_SERVICE = ['161.26.0.0/16', '166.8.0.0/14'].map((c) => parseCidr(c)!)

/** RFC 1918, shared (100.64/10), loopback and link-local. */
export function isPrivateIp(ip: string): boolean {
  return PRIVATE.some((c) => cidrContainsIp(c, ip))
}

export function isIbmServiceIp(ip: string): boolean {
  return IBM_SERVICE.some((c) => cidrContainsIp(c, ip))
}

/** A public internet address (not private, not an IBM service address). */
export function isPublicIp(ip: string): boolean {
  return isIpv4(ip) && !isPrivateIp(ip) && !isIbmServiceIp(ip)
}

/** `24.22.68.94` → `24-22-68-94`, `10.0.0.0/8` → `10-0-0-0-8` (for rule names). */
export function ipSlug(text: string): string {
  return text.replace(/[./]/g, '-')
}
