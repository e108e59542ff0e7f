import {expect} from 'chai'

import {ConfigError, redact, UsageError} from '../../src/lib/errors.js'
import {isNoSuchKey, parseCosEvent} from '../../src/lib/sinks/event.js'
import {resolveSinkKind, resolveSinkSettings} from '../../src/lib/sinks/settings.js'
import {CE_SAMPLE} from './helpers.js'

const KEY = 'settings-ingestion-key-42'

function fails(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected an error')
}

describe('sinks: endpoints, credentials and the default sink', () => {
  it('Mezmo / LogDNA URL: --logdna-url, then FLOWLOG_LOGDNA_URL, then the config, else Mezmo; IBM Log Analysis hosts are refused (exit 3)', () => {
    const env = {FLOWLOG_LOGDNA_INGESTION_KEY: KEY}
    expect(resolveSinkSettings({sink: 'logdna', logdnaUrl: 'https://example.test/logs/ingest/'}, env, {}).url).to.equal('https://example.test')
    expect(resolveSinkSettings({sink: 'logdna', logdnaUrl: 'mezmo'}, env, {}).url).to.equal('https://logs.mezmo.com')
    expect(resolveSinkSettings({sink: 'logdna', region: 'eu-de'}, {...env, FLOWLOG_LOGDNA_URL: 'http://127.0.0.1:9'}, {}).url).to.equal('http://127.0.0.1:9')
    for (const flags of [{sink: 'logdna', region: 'eu-de'}, {sink: 'logdna', region: 'us-south', private: true}, {sink: 'logdna', logdnaUrl: 'https://logs.us-south.logging.cloud.ibm.com'}]) {
      const e = fails(() => resolveSinkSettings(flags, env, {}))
      expect(e).to.be.instanceOf(ConfigError)
      expect((e as ConfigError).message).to.match(/retired in March 2025/)
      expect((e as ConfigError).suggestions.join(' ')).to.contain('--sink cloud-logs').and.to.contain('--logdna-url mezmo')
    }
    expect(fails(() => resolveSinkSettings({sink: 'logdna'}, {...env, FLOWLOG_LOGDNA_URL: 'https://logs.private.eu-de.logging.cloud.ibm.com'}, {}))).to.be.instanceOf(ConfigError)
    expect(resolveSinkSettings({sink: 'logdna'}, env, {logdnaUrl: 'https://proxy.test/mezmo'}).url).to.equal('https://proxy.test/mezmo')
    expect(resolveSinkSettings({sink: 'logdna'}, env, {region: 'jp-tok'}).url).to.equal('https://logs.mezmo.com')
    expect(resolveSinkSettings({sink: 'logdna'}, env, {}).url).to.equal('https://logs.mezmo.com')
    expect(fails(() => resolveSinkSettings({sink: 'logdna', region: 'mars-1'}, env, {}))).to.be.instanceOf(UsageError)
    expect(fails(() => resolveSinkSettings({sink: 'logdna', private: true}, env, {}))).to.be.instanceOf(UsageError)
    expect(fails(() => resolveSinkSettings({sink: 'logdna', logdnaUrl: 'ftp://x'}, env, {}))).to.be.instanceOf(UsageError)
    expect(fails(() => resolveSinkSettings({sink: 'logdna', logdnaUrl: `https://u:${KEY}@x.test`}, env, {}))).to.be.instanceOf(UsageError)
  })

  it('the ingestion key comes from the environment or the config file only, and is registered for redaction', () => {
    const s = resolveSinkSettings({sink: 'logdna'}, {}, {logdnaIngestionKey: KEY})
    expect(s.kind === 'logdna' && s.ingestionKey).to.equal(KEY)
    expect(redact(`apikey=${KEY} and ${KEY}`)).not.to.contain(KEY)
    const e = fails(() => resolveSinkSettings({sink: 'logdna', logdnaUrl: 'mezmo'}, {}, {}))
    expect(e).to.be.instanceOf(ConfigError)
    expect((e as ConfigError).suggestions.join(' ')).to.contain('FLOWLOG_LOGDNA_INGESTION_KEY')
    // A dry run may go without it.
    expect(resolveSinkSettings({sink: 'logdna'}, {}, {}, {requireCredentials: false}).kind).to.equal('logdna')
  })

  it('default sink: --sink, else config "sink", else IBM Cloud Logs (even with a LogDNA ingestion key set)', () => {
    expect(resolveSinkKind('cloud-logs', {}, {sink: 'logdna'})).to.equal('cloud-logs')
    expect(resolveSinkKind(undefined, {}, {sink: 'logdna'})).to.equal('logdna')
    expect(resolveSinkKind(undefined, {}, {sink: 'cloud-logs'})).to.equal('cloud-logs')
    expect(resolveSinkKind(undefined, {FLOWLOG_LOGDNA_INGESTION_KEY: KEY}, {})).to.equal('cloud-logs')
    expect(resolveSinkKind(undefined, {}, {sink: 'none'})).to.equal('cloud-logs')
    expect(fails(() => resolveSinkKind('loki', {}, {}))).to.be.instanceOf(UsageError)
  })

  it('Cloud Logs: URL from --cloud-logs-url, FLOWLOG_CLOUD_LOGS_URL or --cloud-logs-instance + --region; IAM from FLOWLOG_IAM_URL', () => {
    const env = {IBMCLOUD_API_KEY: 'ibm-api-key-0000000'}
    const a = resolveSinkSettings({sink: 'cloud-logs', cloudLogsUrl: 'https://abc.ingress.us-south.logs.cloud.ibm.com/logs/v1/singles'}, env, {})
    expect(a).to.deep.include({kind: 'cloud-logs', url: 'https://abc.ingress.us-south.logs.cloud.ibm.com', iamUrl: 'https://iam.cloud.ibm.com'})
    const b = resolveSinkSettings({sink: 'cloud-logs', cloudLogsInstance: '6a1c2b3d-0000-4000-8000-1234567890ab', region: 'eu-de'}, {...env, FLOWLOG_IAM_URL: 'http://127.0.0.1:1/identity/token'}, {})
    expect(b).to.deep.include({url: 'https://6a1c2b3d-0000-4000-8000-1234567890ab.ingress.eu-de.logs.cloud.ibm.com', iamUrl: 'http://127.0.0.1:1'})
    expect(fails(() => resolveSinkSettings({sink: 'cloud-logs'}, env, {}))).to.be.instanceOf(ConfigError)
    expect(fails(() => resolveSinkSettings({sink: 'cloud-logs', cloudLogsUrl: 'https://x.test'}, {}, {}))).to.be.instanceOf(ConfigError)
    expect(fails(() => resolveSinkSettings({sink: 'cloud-logs', logdnaUrl: 'mezmo'}, env, {}))).to.be.instanceOf(UsageError)
  })

  it('CE_DATA: the real sample, the documented fallbacks, deletes, and NoSuchKey detection', () => {
    const e = parseCosEvent(JSON.stringify(CE_SAMPLE))
    expect(e).to.deep.include({type: 'write', bucket: '<bucket-name>', key: CE_SAMPLE.key, etag: 'e985738a2ef36a9ef8c79bc875355980', size: 587})
    const fallback = parseCosEvent(JSON.stringify({notification: {bucket_name: 'b', object_name: 'ibm_vpc_flowlogs_v1/x.gz', event_type: 'Object:Delete'}}))
    expect(fallback).to.deep.include({type: 'delete', bucket: 'b', key: 'ibm_vpc_flowlogs_v1/x.gz'})
    expect(parseCosEvent(JSON.stringify(CE_SAMPLE), 'com.ibm.cloud.cos.document.delete').type).to.equal('delete')
    expect(fails(() => parseCosEvent('[1]'))).to.have.property('exitCode', 1)
    expect(fails(() => parseCosEvent('{}'))).to.have.property('exitCode', 1)
    expect(isNoSuchKey({code: 'NoSuchKey'})).to.equal(true)
    expect(isNoSuchKey({statusCode: 404})).to.equal(true)
    expect(isNoSuchKey(Object.assign(new Error('x'), {code: 'ENOENT'}))).to.equal(true)
    expect(isNoSuchKey(new Error('wrapped', {cause: {name: 'NoSuchKey'}}))).to.equal(true)
    expect(isNoSuchKey({statusCode: 503})).to.equal(false)
  })
})
