import type { AgentDefinition, ToolCall } from '../types/agent-definition'

const definition = {
  id: 'git-committer',
  displayName: 'Git Committer',
  model: 'anthropic/claude-sonnet-4.5',
  toolNames: ['read_files', 'run_terminal_command', 'add_message', 'end_turn'],
  inputSchema: { prompt: { type: 'string', description: 'What changes to commit' } },
  spawnerPrompt: 'Spawn to commit the current changes with a good message',
  systemPrompt: 'You are an expert software developer who writes clear git commit messages.',
  instructionsPrompt: 'Read what changed, stage the right files and commit them with a message that says what and why.',

  // Runs first: two commands whose output the model then sees, words put in its mouth, then the model's own steps.
  handleSteps: function* ({ prompt }) {
    yield { toolName: 'run_terminal_command', input: { command: 'git diff', timeout_seconds: 30 } } satisfies ToolCall
    yield { toolName: 'run_terminal_command', input: { command: 'git log --oneline -10', timeout_seconds: 30 } } satisfies ToolCall
    yield {
      toolName: 'add_message',
      input: { role: 'assistant', content: "I've looked at the diff and the recent history; now I'll read the files that matter." },
      includeToolCall: false,
    } satisfies ToolCall
    yield 'STEP'
    yield {
      toolName: 'add_message',
      input: { role: 'assistant', content: `Now I'll stage and commit the changes${prompt ? ` (${prompt})` : ''}.` },
      includeToolCall: false,
    } satisfies ToolCall
    yield 'STEP_ALL'
  },
} satisfies AgentDefinition

export default definition
