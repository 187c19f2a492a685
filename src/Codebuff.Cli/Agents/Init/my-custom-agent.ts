/*
 * Edit me to make your own agent, then run it:
 *   codebuff --agent my-custom-agent "review my recent changes"
 * and publish it (set `publisher` first):
 *   codebuff publish my-custom-agent
 */

import type { AgentDefinition } from './types/agent-definition'

const definition: AgentDefinition = {
  id: 'my-custom-agent',
  displayName: 'My Custom Agent',
  model: 'anthropic/claude-sonnet-4.5',
  toolNames: ['run_terminal_command', 'read_files', 'code_search', 'end_turn'],
  spawnerPrompt: 'Spawn to review the changes in the git diff',
  instructionsPrompt: `Review the code changes and suggest improvements:
1. Run git diff
2. Read the files that changed
3. Say what could be better, file by file`,
}

export default definition
