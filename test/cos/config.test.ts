import {expect} from 'chai'

import {iamTokenUrl, needsPathStyle, regionalEndpoint, resolveCosConnection} from '../../src/lib/cos/config.js'
import {backoffDelay, withRetry} from '../../src/lib/cos/retry.js'
import {hourPrefixes} from '../../src/lib/cos/listing.js'
import {AuthError, ConfigError, ExitCode, redact, UsageError} from '../../src/lib/errors.js'
import {parseCosSpec} from '../../src/lib/sources/cos.js'

describe('cos: spec, endpoint and credential resolution', () => {
  it('parses cos://BUCKET[/PREFIX] into a bucket and a folder prefix, raw', () => {
    expect(parseCosSpec('cos://my-bucket')).to.deep.equal({bucket: 'my-bucket', prefix: ''})
    expect(parseCosSpec('cos://my-bucket/')).to.deep.equal({bucket: 'my-bucket', prefix: ''})
    expect(parseCosSpec('cos://my-bucket/archive/2021')).to.deep.equal({bucket: 'my-bucket', prefix: 'archive/2021/'})
    expect(parseCosSpec('cos://b.k-1/ibm_vpc_flowlogs_v1/vpc-id=crn%3Av1/')).to.deep.equal({
      bucket: 'b.k-1',
      prefix: 'ibm_vpc_flowlogs_v1/vpc-id=crn%3Av1/',
    })
  })

  it('rejects bad specs with a UsageError', () => {
    for (const bad of ['cos://', 'cos:///x', 'cos://AB', 'cos://Upper-Case', 'cos://a', 'cos://bucket//x', 's3://bucket', 'cos://-bucket']) {
      expect(() => parseCosSpec(bad), bad).to.throw(UsageError)
    }
  })

  it('builds regional endpoints by type and validates the region', () => {
    expect(regionalEndpoint('us-south')).to.equal('https://s3.us-south.cloud-object-storage.appdomain.cloud')
    expect(regionalEndpoint('eu-de', 'private')).to.equal('https://s3.private.eu-de.cloud-object-storage.appdomain.cloud')
    expect(regionalEndpoint('jp-tok', 'direct')).to.equal('https://s3.direct.jp-tok.cloud-object-storage.appdomain.cloud')
    expect(() => regionalEndpoint('US South')).to.throw(UsageError)
  })

  it('uses path-style addressing only for IPs and localhost', () => {
    expect(needsPathStyle('http://127.0.0.1:9000')).to.equal(true)
    expect(needsPathStyle('http://localhost:9000')).to.equal(true)
    expect(needsPathStyle('https://s3.us-south.cloud-object-storage.appdomain.cloud')).to.equal(false)
  })

  it('turns the IAM base URL into the full token URL ibm-cos-sdk wants', () => {
    expect(iamTokenUrl(undefined)).to.equal('https://iam.cloud.ibm.com/identity/token')
    expect(iamTokenUrl('http://127.0.0.1:4000')).to.equal('http://127.0.0.1:4000/identity/token')
    expect(iamTokenUrl('http://127.0.0.1:4000/')).to.equal('http://127.0.0.1:4000/identity/token')
    expect(iamTokenUrl('http://127.0.0.1:4000/identity/token')).to.equal('http://127.0.0.1:4000/identity/token')
    expect(() => iamTokenUrl('not a url')).to.throw(ConfigError)
  })

  it('prefers flag > env > region flag > config endpoint > config region', () => {
    const hmac = {FLOWLOG_COS_HMAC_ACCESS_KEY_ID: 'id', FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: 'secret-value'}
    const config = {cosEndpoint: 's3.eu-de.cloud-object-storage.appdomain.cloud', region: 'us-east'}
    expect(resolveCosConnection({env: {...hmac, FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1'}, endpoint: 'http://127.0.0.1:2', config}).endpoint).to.equal(
      'http://127.0.0.1:2',
    )
    const fromEnv = resolveCosConnection({env: {...hmac, FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1/'}, config, region: 'us-south'})
    expect(fromEnv).to.include({endpoint: 'http://127.0.0.1:1', endpointSource: 'env', pathStyle: true})
    expect(resolveCosConnection({env: hmac, config, region: 'us-south', endpointType: 'direct'}).endpoint).to.equal(
      'https://s3.direct.us-south.cloud-object-storage.appdomain.cloud',
    )
    expect(resolveCosConnection({env: hmac, config}).endpoint).to.equal('https://s3.eu-de.cloud-object-storage.appdomain.cloud')
    expect(resolveCosConnection({env: hmac, config: {region: 'us-east', cosEndpointType: 'private'}}).endpoint).to.equal(
      'https://s3.private.us-east.cloud-object-storage.appdomain.cloud',
    )
  })

  it('says what to set when the endpoint or the credentials are missing (exit 3)', () => {
    const noEndpoint = () => resolveCosConnection({env: {IBMCLOUD_API_KEY: 'k'.repeat(10)}})
    expect(noEndpoint).to.throw(ConfigError, /no COS endpoint/)
    try {
      noEndpoint()
    } catch (error) {
      expect((error as ConfigError).exitCode).to.equal(ExitCode.config)
      expect((error as ConfigError).suggestions.join(' ')).to.match(/--cos-endpoint.*FLOWLOG_COS_ENDPOINT/)
    }
    const noCreds = () => resolveCosConnection({env: {FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1'}})
    expect(noCreds).to.throw(ConfigError, /no COS credentials/)
    try {
      noCreds()
    } catch (error) {
      expect((error as ConfigError).suggestions.join(' ')).to.match(/IBMCLOUD_API_KEY.*FLOWLOG_COS_HMAC_ACCESS_KEY_ID/)
    }
    expect(() =>
      resolveCosConnection({env: {FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1', FLOWLOG_COS_HMAC_ACCESS_KEY_ID: 'id'}}),
    ).to.throw(ConfigError, /FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY is not set/)
    expect(() => resolveCosConnection({env: {FLOWLOG_COS_ENDPOINT: 'ftp://x', IBMCLOUD_API_KEY: 'k'.repeat(10)}})).to.throw(ConfigError)
  })

  it('picks HMAC over IAM, env over config, and registers secrets for redaction', () => {
    const secret = 'hmac-secret-do-not-print-1234'
    const c = resolveCosConnection({
      env: {FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1', FLOWLOG_COS_HMAC_ACCESS_KEY_ID: 'id', FLOWLOG_COS_HMAC_SECRET_ACCESS_KEY: secret, IBMCLOUD_API_KEY: 'apikey-123456'},
    })
    expect(c.auth).to.include({kind: 'hmac', accessKeyId: 'id', source: 'env'})
    expect(redact(`oops ${secret}`)).to.not.contain(secret)
    const iam = resolveCosConnection({
      env: {FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1', IBMCLOUD_API_KEY: 'env-api-key-123', FLOWLOG_IAM_URL: 'http://127.0.0.1:5'},
      config: {cosHmacAccessKeyId: 'cid', cosHmacSecretAccessKey: 'csecret-123456', cosInstanceId: 'inst-1'},
    })
    expect(iam.auth).to.deep.include({kind: 'iam', apiKey: 'env-api-key-123', instanceId: 'inst-1', tokenUrl: 'http://127.0.0.1:5/identity/token'})
    const fromConfig = resolveCosConnection({env: {FLOWLOG_COS_ENDPOINT: 'http://127.0.0.1:1'}, config: {apiKey: 'cfg-api-key-123'}})
    expect(fromConfig.auth).to.include({kind: 'iam', source: 'config'})
  })

  it('lists the hours of a window from floor_hour(since - 5 min), and hour=24 of the day before for hour 00', () => {
    const h = Date.UTC(2026, 0, 2, 10)
    expect(hourPrefixes({since: h, until: h + 3_600_000}, h)).to.deep.equal([
      'year=2026/month=01/day=02/hour=09/',
      'year=2026/month=01/day=02/hour=10/',
    ])
    expect(hourPrefixes({since: h + 10 * 60_000, until: h + 20 * 60_000}, h)).to.deep.equal(['year=2026/month=01/day=02/hour=10/'])
    const midnight = Date.UTC(2026, 0, 2, 0)
    expect(hourPrefixes({since: midnight + 30 * 60_000, until: midnight + 40 * 60_000}, h)).to.deep.equal([
      'year=2026/month=01/day=02/hour=00/',
      'year=2026/month=01/day=01/hour=24/',
    ])
    expect(hourPrefixes({until: h}, h)).to.equal(undefined)
    expect(hourPrefixes({since: h - 7 * 86_400_000}, h)).to.equal(undefined)
  })

  it('retries with growing, jittered delays and gives up after maxAttempts', async () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).to.equal(50)
    expect(backoffDelay(3, 100, 10_000, () => 0.999)).to.be.within(399, 400)
    expect(backoffDelay(20, 100, 1000, () => 1)).to.equal(1000)
    let calls = 0
    const delays: number[] = []
    const err = await withRetry(
      async () => {
        calls++
        throw new Error('boom')
      },
      {maxAttempts: 4, baseDelayMs: 1, retryable: () => true, onRetry: (_e, _a, d) => delays.push(d)},
    ).catch((e: Error) => e)
    expect(calls).to.equal(4)
    expect(delays).to.have.length(3)
    expect((err as Error).message).to.equal('boom')
    calls = 0
    await withRetry(
      async () => {
        calls++
        throw new AuthError('no')
      },
      {maxAttempts: 4, baseDelayMs: 1, retryable: () => false},
    ).catch(() => {})
    expect(calls).to.equal(1)
  })
})
