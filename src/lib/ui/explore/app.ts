/**
 * The full-screen app of `flowlog explore`, drawn with Ink (React for terminals): Ink owns the terminal (raw input,
 * keys, redrawing only what changed, resizes); the state machine and the text of each part live in state.ts and
 * view.ts. Imported only by the explore command (Ink and React load nowhere else).
 */
import type {ChalkInstance} from 'chalk'
import {Box, type Key as InkKey, render, Text, useInput, useStdout} from 'ink'
import React, {useEffect, useState} from 'react'

import type {NameMap} from '../../names.js'
import type {ExploreController} from './controller.js'
import type {ExploreState, Key} from './state.js'
import {detailLines, keysLine, layout, listLines, queryLines} from './view.js'

const h = React.createElement

/** Ink's key report in the state machine's terms. */
export function toKey(input: string, key: InkKey): Key | undefined {
  if (key.upArrow) return {name: 'up'}
  if (key.downArrow) return {name: 'down'}
  if (key.leftArrow) return {name: 'left'}
  if (key.rightArrow) return {name: 'right'}
  if (key.pageUp) return {name: 'pageup'}
  if (key.pageDown) return {name: 'pagedown'}
  if (key.home) return {name: 'home'}
  if (key.end) return {name: 'end'}
  if (key.return) return {name: 'enter'}
  if (key.escape) return {name: 'escape'}
  if (key.tab) return {name: 'tab'}
  // Most terminals send DEL (0x7f) for Backspace, which Ink reports as `delete`; Ctrl-D deletes forward.
  if (key.backspace || key.delete) return {name: 'backspace'}
  if (key.ctrl && input === 'd') return {name: 'delete'}
  if (!input) return undefined
  return key.ctrl ? {name: 'char', ch: input, ctrl: true} : {name: 'char', ch: input}
}

interface AppProps {
  controller: ExploreController
  c: ChalkInstance
  names?: NameMap
}

function useSize(): {rows: number; cols: number} {
  const {stdout} = useStdout()
  const [size, setSize] = useState({rows: stdout.rows || 24, cols: stdout.columns || 80})
  useEffect(() => {
    const onResize = () => setSize({rows: stdout.rows || 24, cols: stdout.columns || 80})
    stdout.on('resize', onResize)
    return () => void stdout.off('resize', onResize)
  }, [stdout])
  return size
}

function lines(list: string[], key: string) {
  return list.map((l, i) => h(Text, {key: `${key}${i}`, wrap: 'truncate-end'}, l || ' '))
}

function App({controller, c, names}: AppProps) {
  const [s, setState] = useState<ExploreState>(controller.state)
  const {rows, cols} = useSize()
  const size = layout(rows)
  useEffect(() => controller.subscribe(setState), [controller])
  useEffect(() => controller.dispatch({type: 'resize', pageSize: size.list}), [controller, size.list])
  useInput((input, key) => {
    // Typed ahead or pasted: text and Enter can come in one chunk.
    if (!key.return && input.length > 1 && /[\r\n]/.test(input)) {
      for (const part of input.split(/(\r\n|\r|\n)/)) {
        if (/^(\r\n|\r|\n)$/.test(part)) controller.key({name: 'enter'})
        else if (part) controller.key({name: 'char', ch: part})
      }
      return
    }
    const k = toKey(input, key)
    if (k) controller.key(k)
  })
  const q = queryLines(s, cols, c)
  const detail = detailLines(s, size.detail - 1, c, names)
  const border = (focused: boolean) => ({borderStyle: 'single' as const, borderColor: focused ? 'cyan' : 'gray', borderDimColor: !focused})
  // One row less than the terminal: Ink then redraws in place instead of clearing the screen each time.
  return h(
    Box,
    {flexDirection: 'column', width: cols, height: rows - 1},
    h(Text, {wrap: 'truncate-end'}, q.query),
    h(Text, {wrap: 'truncate-end'}, q.under || ' '),
    ...(s.help
      ? // The keys take the whole body.
        [h(Box, {key: 'help', flexDirection: 'column', height: size.list + size.detail + 4, overflow: 'hidden', ...border(true)}, h(Text, {bold: true}, detail.title), ...lines(detail.lines, 'h'))]
      : [
          h(Box, {key: 'list', flexDirection: 'column', height: size.list + 2, overflow: 'hidden', ...border(s.focus === 'list' && !s.menu && !s.pane)}, ...lines(listLines(s, size.list, c, names), 'l')),
          h(
            Box,
            {key: 'detail', flexDirection: 'column', height: size.detail + 2, overflow: 'hidden', ...border(s.focus === 'detail' || Boolean(s.menu || s.pane))},
            h(Text, {wrap: 'truncate-end', bold: true}, detail.title),
            ...lines(detail.lines.slice(0, size.detail - 1), 'd'),
          ),
        ]),
    h(Text, {wrap: 'truncate-end', dimColor: true}, keysLine(s)),
  )
}

export interface RunAppOptions {
  controller: ExploreController
  c: ChalkInstance
  names?: NameMap
  stdin?: NodeJS.ReadStream
  stdout?: NodeJS.WriteStream
}

const ALT_SCREEN_ON = '\u001b[?1049h'
const ALT_SCREEN_OFF = '\u001b[?1049l'

/** Draw the app on the alternate screen until the user quits; the terminal is given back as it was. */
export async function runApp(o: RunAppOptions): Promise<number> {
  const stdout = o.stdout ?? process.stdout
  stdout.write(ALT_SCREEN_ON)
  const restore = () => stdout.write(ALT_SCREEN_OFF)
  process.once('exit', restore)
  const app = render(h(App, {controller: o.controller, c: o.c, names: o.names}), {
    stdin: o.stdin ?? process.stdin,
    stdout,
    exitOnCtrlC: false,
    patchConsole: true,
  })
  try {
    const code = await o.controller.quitted
    app.unmount()
    await app.waitUntilExit().catch(() => undefined)
    return code
  } finally {
    process.off('exit', restore)
    restore()
  }
}
