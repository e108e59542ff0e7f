// Preloaded into a CLI process by tests (node --import): writes the process's peak RSS in KB (all its threads) to
// $FLOWLOG_TEST_MAXRSS_FILE when it exits.
import {writeFileSync} from 'node:fs'

const file = process.env.FLOWLOG_TEST_MAXRSS_FILE
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)))
