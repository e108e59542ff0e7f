/**
 * Redaction at the source: the SDK's `debug` log (DEBUG=…) goes through redact(); Basic credentials, HMAC ids and
 * signatures, bearer tokens and secrets from the environment never reach output or files.
 */
import {expect} from 'chai'
import {createRequire} from 'node:module'

import {redact, redactDeep} from '../../src/lib/errors.js'
import {installDebugRedaction} from '../../src/lib/ui/redact-debug.js'

describe('redaction at the source', () => {
  it('Basic credentials, bearer tokens, HMAC Credential= / Signature= and key fields are redacted', () => {
    const basic = Buffer.from('user:my-ingestion-key-123').toString('base64')
    const out = redact(
      `401 echo: Basic ${basic} / Authorization: Bearer eyJhbGciOi.abc.def / AWS4-HMAC-SHA256 Credential=AKIA0123456789ABCDEF/20260115/us-south/s3/aws4_request, Signature=0a1b2c3d4e5f {"access_key_id":"0123abcd4567ef"}`,
    )
    for (const secret of [basic, 'eyJhbGciOi', 'AKIA0123456789ABCDEF', '0a1b2c3d4e5f', '0123abcd4567ef']) expect(out).not.to.contain(secret)
    expect(out).to.contain('[REDACTED]')
  })

  it('values of the secret environment variables are redacted anywhere; redactDeep walks a failed-request record', () => {
    const before = process.env.FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY
    process.env.FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY = 'hmac-secret-value-xyz'
    try {
      const record = redactDeep({destination: 'https://x', failures: [{key: 'k', error: 'echo hmac-secret-value-xyz and Basic dXNlcjpwYXNzd29yZA=='}], failed: 1})
      expect(JSON.stringify(record)).not.to.contain('hmac-secret-value-xyz')
      expect(JSON.stringify(record)).not.to.contain('dXNlcjpwYXNzd29yZA==')
      expect(record.failed).to.equal(1)
    } finally {
      if (before === undefined) delete process.env.FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY
      else process.env.FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY = before
    }
  })

  it("DEBUG=…: the debug package that ibm-cloud-sdk-core logs through writes redacted lines", () => {
    expect(installDebugRedaction({DEBUG: 'ibm-cloud-sdk-core*'})).to.equal(true)
    const sdkRequire = createRequire(createRequire(import.meta.url).resolve('ibm-cloud-sdk-core'))
    const debug = sdkRequire('debug') as ((ns: string) => ((...a: unknown[]) => void) & {enabled: boolean}) & {log: (...a: unknown[]) => void}
    const log = debug('ibm-cloud-sdk-core:test')
    log.enabled = true
    const written: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    try {
      log('request headers %o', {Authorization: 'Bearer eyJraWQiOi.payload.sig'})
    } finally {
      process.stderr.write = write
    }
    expect(written.join('')).to.contain('[REDACTED]')
    expect(written.join('')).not.to.contain('eyJraWQiOi')
  })
})
