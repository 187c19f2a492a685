/**
 * Types for agent definitions in .agents/ (written by `codebuff init`; edit freely, the CLI never reads this folder).
 *
 *   import type { AgentDefinition } from './types/agent-definition'
 *   const definition: AgentDefinition = { id: 'my-agent', displayName: 'My Agent', model: 'anthropic/claude-sonnet-4.5' }
 *   export default definition
 */

import type { ToolName, ToolCall } from './tools'
export type { ToolName, ToolCall } from './tools'

export interface AgentDefinition {
  /** Lowercase letters, digits and hyphens, e.g. 'code-reviewer'. */
  id: string
  /** Semver; defaults to 0.0.1 and is bumped on each publish. */
  version?: string
  /** Your publisher id; needed to publish. */
  publisher?: string
  displayName: string
  /** Any OpenRouter model id, e.g. 'anthropic/claude-sonnet-4.5'. */
  model: string
  reasoningOptions?: { enabled?: boolean; exclude?: boolean; effort?: 'high' | 'medium' | 'low'; max_tokens?: number }
  /** OpenRouter provider routing. */
  providerOptions?: Record<string, unknown>

  /** The tools the model may call (handleSteps may yield any tool). */
  toolNames?: (ToolName | (string & {}))[]
  /** Agents it may spawn: a local id ('file-picker') or a published one ('publisher/id@version'). */
  spawnableAgents?: string[]

  inputSchema?: { prompt?: { type: 'string'; description?: string }; params?: JsonObjectSchema }
  outputMode?: 'last_message' | 'all_messages' | 'structured_output'
  outputSchema?: JsonObjectSchema
  includeMessageHistory?: boolean
  inheritParentSystemPrompt?: boolean

  /** When a parent should spawn this agent. */
  spawnerPrompt?: string
  systemPrompt?: string
  /** Added after the user's prompt. */
  instructionsPrompt?: string
  /** Added at every step. */
  stepPrompt?: string

  /**
   * Programmatic steps. Yield a tool call ({ toolName, input }) to run it and get { toolResult } back, 'STEP' to let
   * the model take one step, 'STEP_ALL' to let it run until it ends its turn, { type: 'STEP_TEXT', text } or
   * { type: 'GENERATE_N', n }. The function is stored as its source: it must not use anything outside itself.
   */
  handleSteps?: (context: AgentStepContext) => Generator<StepYield, void, StepResult>
}

export interface AgentState {
  agentId: string
  runId: string
  parentId?: string
  messageHistory: Message[]
  output?: Record<string, unknown>
  systemPrompt: string
}

export interface AgentStepContext {
  agentState: AgentState
  prompt?: string
  params?: Record<string, any>
  logger: Record<'debug' | 'info' | 'warn' | 'error', (data: unknown, message?: string) => void>
}

export type StepYield =
  | ToolCall
  | 'STEP'
  | 'STEP_ALL'
  | { type: 'STEP_TEXT'; text: string }
  | { type: 'GENERATE_N'; n: number }

export interface StepResult {
  agentState: AgentState
  toolResult: { type: 'json'; value: any }[]
  stepsComplete: boolean
  nResponses?: string[]
}

export interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string | null
  [key: string]: unknown
}

export interface JsonObjectSchema {
  type: 'object'
  properties?: Record<string, unknown>
  required?: string[]
  [key: string]: unknown
}
