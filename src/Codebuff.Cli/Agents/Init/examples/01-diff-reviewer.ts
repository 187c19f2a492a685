import type { AgentDefinition } from '../types/agent-definition'
import { REVIEW_STEPS } from './shared'

const definition: AgentDefinition = {
  id: 'diff-reviewer',
  displayName: 'Diff Reviewer',
  model: 'anthropic/claude-sonnet-4.5',
  toolNames: ['read_files', 'run_terminal_command', 'end_turn'],
  spawnerPrompt: 'Spawn to review the changes in the git diff',
  instructionsPrompt: REVIEW_STEPS,
}

export default definition
