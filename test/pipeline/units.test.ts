import {expect} from 'chai'

import {ConfigError, UsageError} from '../../src/lib/errors.js'
import {resolveEndpoints} from '../../src/lib/ibmcloud/endpoints.js'
import {conflictingPolicyId, decodeJwt} from '../../src/lib/ibmcloud/platform.js'
import {defaultBucketName, normaliseImage, validateAnswers, validateBasename, validateTarget} from '../../src/lib/pipeline/answers.js'
import {configMapData, dataHash, type ForwarderInputs, jobDiff, jobSpec, readableData, secretData} from '../../src/lib/pipeline/forwarder.js'
import {pollUntil, resolveTiming} from '../../src/lib/pipeline/types.js'

describe('pipeline units', () => {
  describe('endpoints', () => {
    it('defaults follow the region; every override is used as given, never derived from another', () => {
      const d = resolveEndpoints('eu-de', {})
      expect(d).to.include({
        iam: 'https://iam.cloud.ibm.com',
        resourceController: 'https://resource-controller.cloud.ibm.com',
        resourceManager: 'https://resource-controller.cloud.ibm.com',
        globalCatalog: 'https://globalcatalog.cloud.ibm.com/api/v1',
        iamPolicy: 'https://iam.cloud.ibm.com',
        vpc: 'https://eu-de.iaas.cloud.ibm.com/v1',
        codeEngine: 'https://api.eu-de.codeengine.cloud.ibm.com/v2',
        cos: 'https://s3.eu-de.cloud-object-storage.appdomain.cloud',
        logdna: 'https://logs.mezmo.com',
      })
      const o = resolveEndpoints('us-south', {
        FLOWLOG_IAM_URL: 'http://127.0.0.1:1/identity/token',
        FLOWLOG_RESOURCE_CONTROLLER_URL: 'http://127.0.0.1:2/',
        FLOWLOG_GLOBAL_CATALOG_URL: 'http://127.0.0.1:3/api/v1',
        FLOWLOG_CODE_ENGINE_URL: 'http://127.0.0.1:4/v2',
      })
      expect(o.iam).to.equal('http://127.0.0.1:1')
      expect(o.resourceController).to.equal('http://127.0.0.1:2')
      // Not derived from the Resource Controller override:
      expect(o.resourceManager).to.equal('https://resource-controller.cloud.ibm.com')
      expect(o.iamPolicy).to.equal('https://iam.cloud.ibm.com')
      expect(o.globalCatalog).to.equal('http://127.0.0.1:3/api/v1')
      expect(o.codeEngine).to.equal('http://127.0.0.1:4/v2')
    })

    it('rejects overrides without the documented path suffix', () => {
      expect(() => resolveEndpoints('us-south', {FLOWLOG_GLOBAL_CATALOG_URL: 'http://127.0.0.1:3'})).to.throw(ConfigError, /\/api\/v1/)
      expect(() => resolveEndpoints('us-south', {FLOWLOG_CODE_ENGINE_URL: 'http://127.0.0.1:4'})).to.throw(ConfigError, /\/v2/)
      expect(() => resolveEndpoints('us-south', {FLOWLOG_RESOURCE_CONTROLLER_URL: 'ftp://x'})).to.throw(ConfigError)
    })
  })

  describe('answers', () => {
    it('normalises Docker Hub images and keeps registry references', () => {
      expect(normaliseImage('node:20')).to.equal('docker.io/library/node:20')
      expect(normaliseImage('me/flowlog:1')).to.equal('docker.io/me/flowlog:1')
      expect(normaliseImage('icr.io/ns/flowlog:1')).to.equal('icr.io/ns/flowlog:1')
      expect(normaliseImage('localhost:5000/x')).to.equal('localhost:5000/x')
      expect(() => normaliseImage('a b')).to.throw(UsageError)
    })

    it('validates basenames, targets and the logdna key', () => {
      expect(validateBasename('flowlog')).to.equal('flowlog')
      for (const bad of ['Flowlog', '1abc', 'a-', 'a_b', 'x'.repeat(40)]) expect(() => validateBasename(bad), bad).to.throw(UsageError)
      expect(validateTarget('subnet:abc')).to.equal('subnet:abc')
      expect(() => validateTarget('subnet:')).to.throw(UsageError)
      const base = {region: 'us-south', resourceGroup: 'default', basename: 'f', target: 'vpc', sink: 'logdna' as const, trigger: 'poll' as const}
      expect(() => validateAnswers(base)).to.throw(UsageError, /FLOWLOG_LOGDNA_INGESTION_KEY/)
      expect(validateAnswers({...base, logdnaIngestionKey: 'k'.repeat(10)}).sink).to.equal('logdna')
    })

    it('derives a valid default bucket name from the basename and account', () => {
      expect(defaultBucketName('flowlog', '713C783D9a507a53')).to.equal('flowlog-flowlogs-713c783d')
    })
  })

  describe('forwarder', () => {
    const inputs: ForwarderInputs = {
      bucket: 'b',
      region: 'us-south',
      cosEndpoint: 'https://s3.direct.us-south.cloud-object-storage.appdomain.cloud',
      cosInstanceId: 'crn:cos',
      hmac: {accessKeyId: 'AK', secretAccessKey: 'SK'},
      sink: 'cloud-logs',
      cloudLogsUrl: 'https://x.ingress.us-south.logs.cloud.ibm.com',
      jobApiKey: 'API',
      trigger: 'poll',
      image: 'us.icr.io/ns/flowlog@sha256:' + 'a'.repeat(64),
      imageSecret: 'reg',
      secretName: 's',
      configMapName: 'c',
    }

    it('puts secrets in the secret and locations in the config map; with Cloud Logs only the job key', () => {
      // Least privilege: the job's own service-ID key, no HMAC keys (COS is read through IAM with that key).
      expect(secretData(inputs)).to.deep.equal({IBMCLOUD_API_KEY: 'API'})
      const cm = configMapData(inputs)
      expect(cm).to.include({FLOWLOG_BUCKET: 'b', FLOWLOG_SINK: 'cloud-logs', FLOWLOG_CLOUD_LOGS_URL: inputs.cloudLogsUrl})
      expect(JSON.stringify(cm)).to.not.include('SK')
      const logdna = secretData({...inputs, sink: 'logdna', logdnaIngestionKey: 'IK'})
      expect(logdna).to.include({FLOWLOG_LOGDNA_INGESTION_KEY: 'IK'})
      expect(logdna).to.not.have.property('IBMCLOUD_API_KEY')
    })

    it('runs the digest-pinned image (entrypoint flowlog) as a daemon in poll mode, a task per event in subscription mode', () => {
      const poll = jobSpec(inputs)
      expect(poll).to.include({image_reference: inputs.image, image_secret: 'reg', run_mode: 'daemon'})
      expect(poll.run_commands).to.deep.equal([])
      expect(poll.run_arguments).to.deep.equal(['forward', '--follow', '--source', 'cos://b', '--sink', 'cloud-logs'])
      const sub = jobSpec({...inputs, trigger: 'cos-subscription', image: 'icr.io/ns/flowlog:1', imageSecret: undefined})
      expect(sub).to.include({run_mode: 'task', image_reference: 'icr.io/ns/flowlog:1'})
      expect(sub.run_arguments).to.deep.equal(['forward', '--source', 'cos://b', '--sink', 'cloud-logs'])
    })

    it('compares only the managed job fields; extra fields in the answer do not count as drift', () => {
      const spec = jobSpec(inputs)
      const job = {
        name: 'j',
        entity_tag: '1',
        ...spec,
        scale_cpu_limit: '250m',
        run_env_variables: [
          {type: 'config_map_full_reference' as const, reference: 'c', prefix: '', name: ''},
          {type: 'secret_full_reference' as const, reference: 's', prefix: ''},
        ],
        computed_env_variables: [{type: 'literal' as const, name: 'CE_JOB', value: 'j'}],
      }
      expect(jobDiff(job, spec)).to.deep.equal({})
      expect(jobDiff({...job, image_reference: 'node:20'}, {...spec, image_reference: 'docker.io/library/node:20'}), 'the same image, spelled short').to.deep.equal({})
      expect(jobDiff({...job, image_reference: 'node:22'}, spec)).to.have.keys(['image_reference'])
      expect(jobDiff({...job, image_secret: undefined}, spec)).to.have.keys(['image_secret'])
      expect(jobDiff({...job, run_arguments: ['forward']}, spec)).to.have.keys(['run_arguments'])
      expect(jobDiff({...job, run_env_variables: []}, spec)).to.have.keys(['run_env_variables'])
    })

    it('treats masked secret data as unreadable and hashes data independently of key order', () => {
      expect(readableData({A: '****'})).to.equal(false)
      expect(readableData({A: 'REDACTED'})).to.equal(false)
      expect(readableData({A: 'x'})).to.equal(true)
      expect(readableData(undefined)).to.equal(false)
      expect(dataHash({A: '1', B: '2'})).to.equal(dataHash({B: '2', A: '1'}))
      expect(dataHash({A: '1'})).to.not.equal(dataHash({A: '2'}))
    })
  })

  describe('polling', () => {
    it('polls with a growing interval until a value, or gives up after the timeout (in slept time)', async () => {
      const slept: number[] = []
      const timing = resolveTiming({sleep: async (ms) => void slept.push(ms), pollIntervalMs: 100}, {})
      let n = 0
      const v = await pollUntil(async () => (++n === 4 ? 'done' : undefined), timing, 10_000)
      expect(v).to.equal('done')
      expect(slept).to.deep.equal([100, 150, 225])
      slept.length = 0
      const none = await pollUntil(async () => undefined, timing, 1000)
      expect(none).to.equal(undefined)
      expect(slept.reduce((a, b) => a + b, 0)).to.equal(1000)
    })

    it('reads the first interval from FLOWLOG_POLL_INTERVAL_MS', () => {
      expect(resolveTiming({}, {FLOWLOG_POLL_INTERVAL_MS: '7'}).pollIntervalMs).to.equal(7)
      expect(resolveTiming({}, {}).pollIntervalMs).to.equal(1000)
    })
  })

  describe('IAM helpers', () => {
    it('decodes a JWT payload and finds the conflicting policy id in a 409 body', () => {
      const token = `x.${Buffer.from(JSON.stringify({account: {bss: 'acct'}})).toString('base64url')}.sig`
      expect(decodeJwt(token)).to.deep.equal({account: {bss: 'acct'}})
      expect(() => decodeJwt('nope')).to.throw(/not a JWT/)
      expect(conflictingPolicyId({errors: [{code: 'policy_conflict_error', details: {conflicts_with: {policy: {id: 'p1'}}}}]})).to.equal('p1')
      expect(conflictingPolicyId({errors: [{code: 'other'}]})).to.equal(undefined)
    })
  })
})
