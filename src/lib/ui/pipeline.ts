/** Rendering of `flowlog setup`, `teardown` and `doctor` (docs/setup.md): plans, steps and checks. */
import Table from 'cli-table3'

import type {DoctorResult} from '../pipeline/doctor.js'
import {planChanges, type PlanItem} from '../pipeline/plan.js'
import type {SetupResult} from '../pipeline/setup.js'
import type {Deployment} from '../pipeline/state.js'
import {teardownList, type TeardownResult} from '../pipeline/teardown.js'
import {hint, info, type Line, out, type Palette} from './lines.js'

const style = (p: Palette) => ({head: p.colour ? ['bold'] : [], border: p.colour ? ['grey'] : []})

export function renderSetupPlan(plan: PlanItem[], p: Palette): Line[] {
  const table = new Table({head: ['resource', 'id / name', 'plan', 'costs money'], style: style(p)})
  for (const item of plan) table.push([item.kind, item.resource, item.action === 'exists' ? 'exists (kept)' : item.action, item.cost])
  return [out(table.toString()), info(`${planChanges(plan)} resource(s) to create or update; the others exist already or need nothing`)]
}

export function renderSetup(r: SetupResult, p: Palette): Line[] {
  const table = new Table({head: ['step', 'action', 'id', 'detail'], style: style(p)})
  for (const s of r.steps) table.push([s.name, s.action, s.id ?? '', s.detail ?? ''])
  const lines = [out(table.toString())]
  const changed = r.steps.filter((s) => s.action === 'created' || s.action === 'updated').length
  lines.push(info(changed === 0 ? 'everything was already in place: nothing changed' : `${changed} step(s) created or updated something`))
  if (r.commands?.length) {
    lines.push(info('The COS subscription has no REST API. Run:'))
    for (const c of r.commands) lines.push(out(`  ${c}`))
  }
  lines.push(hint('next: flowlog doctor   (checks every hop; flowlog teardown removes it all)'))
  return lines
}

/** What teardown is about to delete, before it asks. */
export function renderTeardownList(dep: Deployment): Line[] {
  const list = teardownList(dep)
  return [
    info(`This deletes, in ${dep.region} (account ${dep.accountId}):${list.length ? '' : ' nothing created by setup'}`),
    ...list.map((item) => out(`  ${item.kind.padEnd(34)} ${item.resource}`)),
  ]
}

export function renderTeardown(r: TeardownResult, p: Palette): Line[] {
  const colour = (a: string) => (a === 'deleted' ? p.c.green(a) : a === 'failed' ? p.c.red(a) : p.c.dim(a))
  const table = new Table({head: ['step', 'action', 'id', 'detail'], style: style(p), chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
  for (const s of r.steps) table.push([s.name, colour(s.action), s.id ?? '', s.detail ?? ''])
  const lines = [out(table.toString())]
  if (r.commands?.length) {
    lines.push(info('The COS subscription stays with the Code Engine project that was left in place. Run:'))
    for (const c of r.commands) lines.push(out(`  ${c}`))
  }
  const left = r.steps.filter((s) => s.action === 'skipped' && s.detail?.includes('left in place')).length
  if (left > 0) lines.push(hint(`${left} resource(s) setup found already there were left in place`))
  lines.push(hint(r.steps.some((s) => s.action === 'failed') ? 'run `flowlog teardown` again: it resumes with what is left' : 'everything setup created is gone; `flowlog setup` builds it again'))
  return lines
}

/** One line per check (and its fix when it failed); the stderr verdict is the command's (it sets the exit code). */
export function renderDoctor(r: DoctorResult, p: Palette): Line[] {
  const lines: Line[] = []
  for (const c of r.checks) {
    lines.push(out(`${c.ok ? p.c.green('✓') : p.c.red('✗')} ${c.name.padEnd(14)} ${c.detail}`))
    if (!c.ok && c.fix) lines.push(out(`  ${' '.repeat(14)} ${p.c.yellow('fix:')} ${c.fix}`))
  }
  return lines
}
