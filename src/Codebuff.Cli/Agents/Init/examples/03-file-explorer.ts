import type { AgentDefinition, ToolCall } from '../types/agent-definition'

const definition: AgentDefinition = {
  id: 'file-explorer',
  displayName: 'File Explorer',
  model: 'anthropic/claude-sonnet-4.5',
  spawnerPrompt: 'Spawns file pickers in parallel to explore the codebase from several angles',
  includeMessageHistory: false,
  toolNames: ['spawn_agents', 'set_output'],
  // Resolved in .agents/ first, then in the agent store.
  spawnableAgents: ['codebuff/file-picker@0.0.1'],
  inputSchema: {
    prompt: { type: 'string', description: 'What you need to find out' },
    params: { type: 'object', properties: { prompts: { type: 'array', items: { type: 'string' } } } },
  },
  outputMode: 'structured_output',
  outputSchema: { type: 'object', properties: { results: { type: 'string' } }, required: ['results'] },

  handleSteps: function* ({ prompt, params }) {
    const areas: string[] = params?.prompts ?? [prompt ?? 'the whole project']
    const { toolResult } = yield {
      toolName: 'spawn_agents',
      input: {
        agents: areas.map((area) => ({ agent_type: 'codebuff/file-picker@0.0.1', prompt: `For "${prompt}", find the files about: ${area}` })),
      },
    } satisfies ToolCall
    yield { toolName: 'set_output', input: { results: JSON.stringify(toolResult) } } satisfies ToolCall
  },
}

export default definition
