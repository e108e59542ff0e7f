/**
 * Fake Global Catalog: the two routes setup uses — search by `q=name:<svc>` and list a service's plans — answering
 * from a small table. Mounted under `/api/v1` like the real base URL.
 */
import {type Ctx, type Handler, makeService, q, route, sendJson} from './http.js'
import type {CatalogService, FakeCloudState} from './state.js'

function entry(state: FakeCloudState, s: CatalogService) {
  return {
    id: s.id,
    name: s.name,
    kind: 'service',
    active: true,
    disabled: false,
    group: false,
    catalog_crn: `crn:v1:bluemix:public:globalcatalog::::service:${s.id}`,
    url: `/api/v1/${s.id}`,
    children_url: `/api/v1/${s.id}/*`,
    overview_ui: {en: {display_name: s.name, description: `Fake catalog entry for ${s.name}`, long_description: ''}},
    images: {image: '', small_image: '', medium_image: '', feature_image: ''},
    tags: ['ibm_created'],
    provider: {name: 'IBM', email: 'noreply@ibm.com'},
    metadata: {service: {iam_compatible: true, rc_provisionable: true}, rc_compatible: true},
    geo_tags: s.targets === 'global' ? ['global'] : ['us-south', 'eu-de'],
    created: '2020-01-01T00:00:00.000Z',
    updated: '2024-01-01T00:00:00.000Z',
    account: state.accountId === '' ? '' : 'global',
  }
}

function searchResult(ctx: Ctx, resources: unknown[]) {
  const offset = Number(q(ctx, '_offset') ?? '0')
  const limit = Number(q(ctx, '_limit') ?? '200')
  const slice = resources.slice(offset, offset + limit)
  return {offset, limit, count: resources.length, resource_count: slice.length, first: ctx.url.pathname, last: ctx.url.pathname, resources: slice}
}

export function catalogService(state: FakeCloudState): Handler {
  return makeService(
    'catalog',
    state,
    [
      route('GET', '/', (ctx) => {
        const text = q(ctx, 'q') ?? ''
        const terms = text.split(/[\s+]+/).filter(Boolean)
        const filters: Record<string, string> = {}
        const words: string[] = []
        for (const t of terms) {
          const m = /^([a-z_]+):(.*)$/.exec(t)
          if (m) filters[m[1]] = m[2]
          else words.push(t.toLowerCase())
        }
        const matched = state.catalog.filter(
          (s) =>
            (filters.name === undefined || s.name === filters.name) &&
            (filters.kind === undefined || filters.kind === 'service') &&
            (filters.active === undefined || filters.active === 'true') &&
            words.every((w) => s.name.includes(w)),
        )
        sendJson(ctx.res, 200, searchResult(ctx, matched.map((s) => entry(state, s))))
      }),
      route('GET', '/:id', (ctx) => {
        const s = state.catalog.find((x) => x.id === ctx.params.id || x.name === ctx.params.id)
        if (!s) return sendJson(ctx.res, 404, {message: `Catalog entry ${ctx.params.id} not found`, 'status-code': 404})
        sendJson(ctx.res, 200, entry(state, s))
      }),
      route('GET', '/:id/:kind', (ctx) => {
        const s = state.catalog.find((x) => x.id === ctx.params.id || x.name === ctx.params.id)
        if (!s) return sendJson(ctx.res, 404, {message: `Catalog entry ${ctx.params.id} not found`, 'status-code': 404})
        if (ctx.params.kind !== 'plan' && ctx.params.kind !== '*') return sendJson(ctx.res, 200, searchResult(ctx, []))
        const plans = s.plans.map((p) => ({
          id: p.id,
          name: p.name,
          kind: 'plan',
          active: true,
          disabled: false,
          parent_id: s.id,
          catalog_crn: `crn:v1:bluemix:public:globalcatalog::::plan:${p.id}`,
          url: `/api/v1/${p.id}`,
          overview_ui: {en: {display_name: p.name, description: `${s.name} ${p.name} plan`, long_description: ''}},
          metadata: {plan: {reservable: false}},
        }))
        sendJson(ctx.res, 200, searchResult(ctx, plans))
      }),
    ],
    {prefix: '/api/v1'},
  )
}
