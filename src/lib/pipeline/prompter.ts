/**
 * The prompt functions the setup wizard and teardown's confirmation use, behind an interface so tests can drive them
 * (or pass streams to the inquirer implementation). The inquirer implementation writes its prompts to `output`
 * (stderr by default), never stdout.
 */
import {PassThrough} from 'node:stream'

import {confirm, input, password, select} from '@inquirer/prompts'

import {InterruptedError} from '../errors.js'

export interface Choice<T extends string> {
  name: string
  value: T
  description?: string
}

export interface Prompter {
  select<T extends string>(options: {message: string; choices: Choice<T>[]; default?: T}): Promise<T>
  input(options: {message: string; default?: string; validate?: (value: string) => true | string}): Promise<string>
  password(options: {message: string; validate?: (value: string) => true | string}): Promise<string>
  confirm(options: {message: string; default?: boolean}): Promise<boolean>
}

export interface InquirerPrompterOptions {
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
}

/** Ctrl-C inside a prompt → InterruptedError (exit 130). */
async function guard<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (error) {
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) throw new InterruptedError()
    throw error
  }
}

export function createInquirerPrompter(options: InquirerPrompterOptions = {}): Prompter {
  const target = options.output
  // Each prompt ends its output stream when done. stdio ignores that; a custom stream would be closed after the first
  // question, so every prompt gets its own pass-through that does not end the real one.
  const context = () => {
    if (!target) return {input: options.input ?? process.stdin, output: process.stderr, clearPromptOnDone: false}
    const out = new PassThrough()
    out.pipe(target, {end: false})
    return {input: options.input ?? process.stdin, output: out, clearPromptOnDone: false}
  }
  return {
    select: (o) => guard(select({message: o.message, choices: o.choices, default: o.default, loop: false}, context())),
    input: (o) => guard(input({message: o.message, default: o.default, validate: o.validate, required: true}, context())),
    password: (o) => guard(password({message: o.message, mask: '*', validate: o.validate}, context())),
    confirm: (o) => guard(confirm({message: o.message, default: o.default}, context())),
  }
}
