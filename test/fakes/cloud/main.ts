/**
 * `npm run fake-cloud`: start the fake IBM Cloud alone on 127.0.0.1, print ONE JSON document {"env": {...}} on stdout
 * with the variables that point flowlog at it, then serve until stopped (SIGINT/SIGTERM).
 *
 *   eval "$(npm run -s fake-cloud -- --env)"
 *
 * `--env` prints `export NAME='value'` lines instead (and FAKE_CLOUD_PID), leaves the fake serving in the background and
 * exits, so the eval above returns; stop it with `kill $FAKE_CLOUD_PID`. Without --env it serves in the foreground.
 *
 * Options (environment): FAKE_CLOUD_PROVISIONING_POLLS, FAKE_CLOUD_PROJECT_POLLS (GETs before active, default 2),
 * FAKE_CLOUD_ONETIME_CREDENTIALS=1, FAKE_CLOUD_MOUNT_PATHS=1 (every base URL carries a path).
 */
import {spawn} from 'node:child_process'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {startFakeCloud} from './index.js'

const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`

if (process.argv.includes('--env')) {
  // The server runs in a detached child; this process prints its variables as export lines and exits.
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: process.env})
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({input: child.stdout!})
    rl.once('line', (line) => {
      rl.close()
      resolve(line)
    })
    child.once('exit', (code) => reject(new Error(`the fake cloud exited (${code}) before it was listening`)))
  })
  const {env} = JSON.parse(first) as {env: Record<string, string>}
  for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${shellQuote(v)}\n`)
  process.stdout.write(`export FAKE_CLOUD_PID=${child.pid}\n`)
  process.stderr.write(`fake IBM Cloud serving in the background (pid ${child.pid}); stop it: kill $FAKE_CLOUD_PID\n`)
  child.stdout!.destroy()
  child.unref()
  process.exit(0)
}

const num = (s: string | undefined) => (s !== undefined && s !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined)

const cloud = await startFakeCloud({
  provisioningPolls: num(process.env.FAKE_CLOUD_PROVISIONING_POLLS),
  projectPolls: num(process.env.FAKE_CLOUD_PROJECT_POLLS),
  onetimeCredentials: process.env.FAKE_CLOUD_ONETIME_CREDENTIALS === '1',
  mountPaths: process.env.FAKE_CLOUD_MOUNT_PATHS === '1',
})
process.stdout.write(JSON.stringify({env: cloud.env}) + '\n')
// Detached under --env: nobody reads stdout any more, so a later write must not kill the server.
process.stdout.on('error', () => undefined)
process.stderr.write(`fake IBM Cloud listening; state at ${cloud.url}/__state (Ctrl-C to stop)\n`)

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  cloud.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
