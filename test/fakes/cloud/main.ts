/**
 * `npm run fake-cloud`: start the fake IBM Cloud alone on 127.0.0.1, print ONE JSON document {"env": {...}} on stdout
 * with the variables that point flowlog at it, then serve until stopped (SIGINT/SIGTERM).
 *
 *   eval "$(npm run -s fake-cloud | jq -r '.env | to_entries[] | "export \(.key)=\(.value)"')"
 *
 * Options (environment): FAKE_CLOUD_PROVISIONING_POLLS, FAKE_CLOUD_PROJECT_POLLS (GETs before active, default 2),
 * FAKE_CLOUD_ONETIME_CREDENTIALS=1, FAKE_CLOUD_MOUNT_PATHS=1 (every base URL carries a path).
 */
import {startFakeCloud} from './index.js'

const num = (s: string | undefined) => (s !== undefined && s !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined)

const cloud = await startFakeCloud({
  provisioningPolls: num(process.env.FAKE_CLOUD_PROVISIONING_POLLS),
  projectPolls: num(process.env.FAKE_CLOUD_PROJECT_POLLS),
  onetimeCredentials: process.env.FAKE_CLOUD_ONETIME_CREDENTIALS === '1',
  mountPaths: process.env.FAKE_CLOUD_MOUNT_PATHS === '1',
})
process.stdout.write(JSON.stringify({env: cloud.env}) + '\n')
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
