// Feeds agent templates (JSON array on stdin) to @codebuff/sdk's own validateAgents — the check the SDK applies to
// what GET /api/v1/agents/... returns — and prints its result as JSON.
import { pathToFileURL } from 'node:url'

const { validateAgents } = await import(pathToFileURL(process.argv[2]).href)
let text = ''
for await (const chunk of process.stdin) text += chunk
const result = await validateAgents(JSON.parse(text))
process.stdout.write(JSON.stringify(result) + '\n')
process.exit(0)
