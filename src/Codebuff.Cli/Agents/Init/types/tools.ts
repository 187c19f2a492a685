/** The tools an agent may use, with their inputs (written by `codebuff init`). */

export type ToolName = keyof ToolInputs

export interface ToolInputs {
  read_files: { paths: string[] }
  write_file: { path: string; instructions?: string; content: string }
  str_replace: { path: string; replacements: { old: string; new: string; allowMultiple?: boolean }[] }
  run_terminal_command: { command: string; process_type?: 'SYNC' | 'BACKGROUND'; cwd?: string; timeout_seconds?: number }
  code_search: { pattern: string; flags?: string; cwd?: string; maxResults?: number }
  list_directory: { path: string }
  glob: { pattern: string; cwd?: string }
  find_files: { prompt: string }
  think_deeply: { thought: string }
  write_todos: { todos: { task: string; completed: boolean }[] }
  ask_user: { questions: { question: string; header?: string; options: { label: string; description?: string }[]; multiSelect?: boolean }[] }
  spawn_agents: { agents: { agent_type: string; prompt?: string; params?: Record<string, any> }[] }
  set_output: Record<string, any>
  add_message: { role: 'user' | 'assistant'; content: string }
  set_messages: { messages: { role: string; content: string }[] }
  end_turn: Record<string, never>
  task_completed: Record<string, never>
  suggest_followups: { followups: { prompt: string; label?: string }[] }
  web_search: { query: string; depth?: 'standard' | 'deep' }
  read_docs: { libraryTitle: string; topic?: string; max_tokens?: number }
}

/** A tool call yielded from handleSteps; includeToolCall: true also shows it to the model as its own call. */
export type ToolCall<T extends ToolName = ToolName> = {
  [K in T]: { toolName: K; input: ToolInputs[K]; includeToolCall?: boolean }
}[T]
