/** COS key layouts (docs/flow-log-format.md §2): v1, v0, URL decoding, classification, building. */
import {expect} from 'chai'
import fc from 'fast-check'

import {buildV1Key, classifyKey, crnLocation, parseKey, safeDecode} from '../../src/lib/records/key.js'
import {ACCOUNT, ceEventKey, makeV1Key, SAMPLE, sampleJson} from '../support/fixtures.js'

const V1_PREFIX =
  'ibm_vpc_flowlogs_v1/account=713c783d9a507a53135fe6793c37cc74/region=us-south/vpc-id=crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south%3Aa%2F713c783d9a507a53135fe6793c37cc74%3A%3Avpc%3Ar006-f6045065-8a82-44fc-ae1e-4817f499c9c6/subnet-id=crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south-2%3Aa%2F713c783d9a507a53135fe6793c37cc74%3A%3Asubnet%3A0727-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb/endpoint-type=vnics/instance-id=crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south-2%3Aa%2F713c783d9a507a53135fe6793c37cc74%3A%3Ainstance%3A0727_8a0f4f09-7b4a-4399-b7af-e96225f6ad4a/vnic-id=0727-c9ce1904-48ef-4c94-b41f-51c48ccfbee4/record-type=egress'

describe('records/key: v1', () => {
  const key = ceEventKey()

  it('the sample event key is the spec example', () => {
    expect(key).to.equal(`${V1_PREFIX}/year=2021/month=11/day=23/hour=20/stream-id=20211119T222459Z/00000006.gz`)
    expect(sampleJson<{notification: {object_name: string}}>(SAMPLE.ceEvent).notification.object_name).to.equal(key)
  })

  it('parses every field of the Code Engine event key, URL-decoded, raw kept', () => {
    const p = parseKey(key)!
    expect(p).to.not.equal(undefined)
    expect(p.layout).to.equal('v1')
    expect(p.raw).to.equal(key)
    expect(p.account).to.equal(ACCOUNT)
    expect(p.region).to.equal('us-south')
    expect(p.zone).to.equal('us-south-2')
    expect(p.vpc_crn).to.equal('crn:v1:bluemix:public:is:us-south:a/713c783d9a507a53135fe6793c37cc74::vpc:r006-f6045065-8a82-44fc-ae1e-4817f499c9c6')
    expect(p.subnet_crn).to.equal(
      'crn:v1:bluemix:public:is:us-south-2:a/713c783d9a507a53135fe6793c37cc74::subnet:0727-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb',
    )
    expect(p.subnet_id).to.equal('0727-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb')
    expect(p.instance_crn).to.equal(
      'crn:v1:bluemix:public:is:us-south-2:a/713c783d9a507a53135fe6793c37cc74::instance:0727_8a0f4f09-7b4a-4399-b7af-e96225f6ad4a',
    )
    expect(p.instance_id).to.equal('0727_8a0f4f09-7b4a-4399-b7af-e96225f6ad4a')
    expect(p.vnic_id).to.equal('0727-c9ce1904-48ef-4c94-b41f-51c48ccfbee4')
    expect(p.record_type).to.equal('egress')
    expect([p.year, p.month, p.day, p.hour]).to.deep.equal([2021, 11, 23, 20])
    expect(p.hour_dir).to.equal(Date.UTC(2021, 10, 23, 20))
    expect(p.hour_dir).to.equal(Date.parse('2021-11-23T20:00:00Z'))
    expect(p.stream_id).to.equal('20211119T222459Z')
    expect(p.sequence).to.equal('00000006')
    expect(p.rawSegments).to.deep.equal({
      vpc_id: 'crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south%3Aa%2F713c783d9a507a53135fe6793c37cc74%3A%3Avpc%3Ar006-f6045065-8a82-44fc-ae1e-4817f499c9c6',
      subnet_id:
        'crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south-2%3Aa%2F713c783d9a507a53135fe6793c37cc74%3A%3Asubnet%3A0727-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb',
      instance_id:
        'crn%3Av1%3Abluemix%3Apublic%3Ais%3Aus-south-2%3Aa%2F713c783d9a507a53135fe6793c37cc74%3A%3Ainstance%3A0727_8a0f4f09-7b4a-4399-b7af-e96225f6ad4a',
    })
    // the vNIC of the key is the header's network_interface_id
    const vnic = sampleJson<{notification: {meta_headers: {header: string; value: string}[]}}>(SAMPLE.ceEvent).notification.meta_headers.find(
      (h) => h.header === 'x-amz-meta-network_interface_id',
    )!.value
    expect(p.vnic_id).to.equal(vnic)
  })

  it('hour "24" (the docs say 00-24) is the next day 00:00 UTC', () => {
    const k = `${V1_PREFIX}/year=2021/month=12/day=31/hour=24/stream-id=20211119T222459Z/00000001.gz`
    const p = parseKey(k)!
    expect(p.layout).to.equal('v1')
    expect(p.hour).to.equal(24)
    expect(p.hour_dir).to.equal(Date.UTC(2022, 0, 1, 0))
    expect(classifyKey(k)).to.equal('v1')
  })

  it('values with other escapes (%2F, %3A, %20, %25) are decoded; a bad escape is kept raw, never throws', () => {
    const k = makeV1Key({vpc_crn: 'crn:v1:a/b c%d', vnic_id: '0717-abc'})
    expect(k).to.contain('vpc-id=crn%3Av1%3Aa%2Fb%20c%25d/')
    expect(parseKey(k)!.vpc_crn).to.equal('crn:v1:a/b c%d')
    const bad = key.replace('region=us-south', 'region=us%ZZsouth')
    expect(parseKey(bad)!.region).to.equal('us%ZZsouth')
    expect(safeDecode('%E0%A4%A')).to.equal('%E0%A4%A')
    expect(safeDecode('a%3Ab')).to.equal('a:b')
  })

  it('a subnet CRN without a zone or an instance CRN without ::instance: gives no derived id, no crash', () => {
    const k = makeV1Key({subnet_crn: 'weird', instance_crn: 'crn:v1:bluemix:public:is::a/x::other:1'})
    const p = parseKey(k)!
    expect(p.zone).to.equal(undefined)
    expect(p.subnet_id).to.equal(undefined)
    expect(p.instance_id).to.equal(undefined)
    expect(crnLocation('crn:v1:bluemix:public:is:eu-de-3:a/x::subnet:1')).to.equal('eu-de-3')
  })

  it('buildV1Key → parseKey round trip (property: any CRN text, any time)', () => {
    fc.assert(
      fc.property(
        fc.string({unit: 'grapheme', minLength: 1, maxLength: 40}),
        fc.string({unit: 'grapheme', minLength: 1, maxLength: 40}),
        fc.string({unit: 'grapheme', minLength: 1, maxLength: 40}),
        fc.integer({min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31, 23, 59, 59)}),
        fc.constantFrom('ingress', 'egress', 'all'),
        fc.integer({min: 0, max: 99_999_999}),
        (vpc, subnet, instance, time, recordType, sequence) => {
          const k = buildV1Key({
            account: ACCOUNT,
            region: 'eu-de',
            vpc_crn: vpc,
            subnet_crn: subnet,
            instance_crn: instance,
            vnic_id: '02c7-1234',
            record_type: recordType,
            time,
            stream_id: '20260101T000000Z',
            sequence,
          })
          const p = parseKey(k)
          expect(p, k).to.not.equal(undefined)
          expect(p!.raw).to.equal(k)
          expect([p!.vpc_crn, p!.subnet_crn, p!.instance_crn]).to.deep.equal([vpc, subnet, instance])
          expect(p!.record_type).to.equal(recordType)
          expect(p!.hour_dir).to.equal(Math.floor(time / 3_600_000) * 3_600_000)
          expect(Number(p!.sequence)).to.equal(sequence)
          expect(p!.sequence).to.have.length(8)
          expect(classifyKey(k)).to.equal('v1')
        },
      ),
      {numRuns: 300},
    )
  })

  it('buildV1Key writes the real layout: zero-padded month/day/hour, 8-digit sequence', () => {
    const k = makeV1Key({time: Date.UTC(2026, 2, 5, 7, 59, 59), sequence: 42, record_type: 'egress'})
    expect(k).to.match(/\/record-type=egress\/year=2026\/month=03\/day=05\/hour=07\/stream-id=20260111T080000Z\/00000042\.gz$/)
  })
})

describe('records/key: v0', () => {
  const key = sampleJson<{key: string}>(SAMPLE.emptyV0).key

  it('parses the v0 key embedded in object-empty-with-v0-key.json', () => {
    const p = parseKey(key)!
    expect(p).to.not.equal(undefined)
    expect(p.layout).to.equal('v0')
    expect(p.raw).to.equal(key)
    expect(p.account).to.equal(ACCOUNT)
    expect(p.zone).to.equal('us-south-2')
    expect(p.region).to.equal('us-south')
    expect(p.vpc_crn).to.equal('crn:v1:bluemix:public:is:us-south:a/713c783d9a507a53135fe6793c37cc74::vpc:r006-fc3e66f3-2a98-4bd2-800a-1b4a971f3b78')
    expect(p.subnet_crn).to.equal(
      'crn:v1:bluemix:public:is:us-south-2:a/713c783d9a507a53135fe6793c37cc74::subnet:0727-dd02b849-a804-4b5b-8456-7df33e311686',
    )
    expect(p.subnet_id).to.equal('0727-dd02b849-a804-4b5b-8456-7df33e311686')
    expect(p.instance_crn).to.equal(
      'crn:v1:bluemix:public:is:us-south-2:a/713c783d9a507a53135fe6793c37cc74::instance:0727_7ccdd393-23a1-40f9-89bf-0a5b0a50ac0e',
    )
    expect(p.instance_id).to.equal('0727_7ccdd393-23a1-40f9-89bf-0a5b0a50ac0e')
    expect(p.vnic_id).to.equal('0727-c88727bc-345d-4ef0-b7a7-a3ae23ffdaeb')
    expect(p.record_type).to.equal('ingress')
    expect(p.stream_id).to.equal('20200608T132243Z')
    expect(p.sequence).to.equal('00002630')
    expect(p.hour_dir).to.equal(undefined)
    // The vNIC is the one in the object's header.
    expect(p.vnic_id).to.equal(sampleJson<{network_interface_id: string}>(SAMPLE.emptyV0).network_interface_id)
  })

  it('v0 raw CRNs contain "/", so splitting on "/" would not give the segments', () => {
    expect(key.split('/').length).to.be.greaterThan(10)
    expect(parseKey(key)!.vpc_crn).to.contain('/')
  })

  it('a zone with a multi-digit suffix and region derivation', () => {
    const p = parseKey(key.replace('/us-south-2/', '/eu-de-12/'))!
    expect([p.zone, p.region]).to.deep.equal(['eu-de-12', 'eu-de'])
  })
})

describe('records/key: classifyKey', () => {
  it('v1 and v0 keys', () => {
    expect(classifyKey(ceEventKey())).to.equal('v1')
    expect(classifyKey(sampleJson<{key: string}>(SAMPLE.emptyV0).key)).to.equal('v0')
  })

  it('foreign keys are never flow logs: markers, checkpoints, the prefix not at the start, other case', () => {
    for (const k of [
      'README.md',
      'checkpoints/flowlog.json',
      '.flowlog-demo',
      `copy/${ceEventKey()}`,
      'IBM_VPC_FLOWLOGS_V1/x.gz',
      'ibm_vpc_flowlog/x.gz',
      '',
    ]) {
      expect(classifyKey(k), k).to.equal('foreign')
      if (k !== `copy/${ceEventKey()}`) expect(parseKey(k), k).to.equal(undefined)
    }
  })

  it('unrecognised layouts under ibm_vpc_flowlogs_ (still read, counted)', () => {
    const v1 = ceEventKey()
    for (const k of [
      'ibm_vpc_flowlogs_v1/garbage.gz',
      'ibm_vpc_flowlogs_v2/account=x/whatever/00000001.gz',
      v1.replace(/\.gz$/, ''),
      v1.replace(/\.gz$/, '.json'),
      v1.replace('hour=20', 'hour=7'),
      v1.replace('year=2021', 'year=21'),
      v1.replace('/00000006.gz', '/abc.gz'),
      `${v1}/extra`,
      'ibm_vpc_flowlogs_v0/713c783d9a507a53135fe6793c37cc74/us-south-2/not-a-crn/x/y/00000001.gz',
    ]) {
      expect(classifyKey(k), k).to.equal('unrecognised')
      expect(parseKey(k), k).to.equal(undefined)
    }
  })
})
