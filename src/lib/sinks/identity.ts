/**
 * The canonical identity of a sink destination (docs/sinks.md, "Stopping forward", "One sink, one ledger"): one sink is one ledger and one
 * lock whatever its spelling — scheme and host in lower case, `localhost`, 127.0.0.0/8 and ::1 are one loopback host,
 * the scheme's default port dropped, duplicate and trailing slashes of the path dropped, user info dropped (a
 * credential is never part of a file name). Text that is not a URL is kept as it is.
 */
export function canonicalDestination(destination: string): string {
  let url: URL
  try {
    url = new URL(destination)
  } catch {
    return destination
  }
  let host = url.hostname.toLowerCase().replace(/\.$/, '')
  if (host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::ffff:7f00:1]') host = 'loopback'
  const port = url.port === '' || (url.protocol === 'https:' && url.port === '443') || (url.protocol === 'http:' && url.port === '80') ? '' : `:${url.port}`
  const path = url.pathname.replace(/\/{2,}/g, '/').replace(/\/+$/, '')
  return `${url.protocol.toLowerCase()}//${host}${port}${path}${url.search}`
}
