using System.Text.Json.Nodes;
using Codebuff.Cli.Agents;

namespace Codebuff.Cli.Tools;

/// <summary>
/// The tools this CLI runs, as OpenAI function tools (name, description, JSON-schema parameters) with the input
/// fields of @codebuff/sdk's tools (clients.md §2.7). An agent is offered the ones its <c>toolNames</c> lists.
/// </summary>
public static class ToolCatalog
{
    static readonly JsonObject Definitions = JsonNode.Parse("""
    {
      "read_files": { "description": "Read the content of files in the project. Secret files and files outside the project are refused.",
        "parameters": { "type": "object", "properties": { "paths": { "type": "array", "items": { "type": "string" }, "description": "Project-relative paths" } }, "required": ["paths"] } },
      "write_file": { "description": "Create or overwrite a file in the project with the given content.",
        "parameters": { "type": "object", "properties": { "path": { "type": "string" }, "instructions": { "type": "string", "description": "What the change does" }, "content": { "type": "string", "description": "The complete new content" } }, "required": ["path", "content"] } },
      "str_replace": { "description": "Replace exact text in a file. Each old string must occur once unless allowMultiple is set.",
        "parameters": { "type": "object", "properties": { "path": { "type": "string" }, "replacements": { "type": "array", "items": { "type": "object", "properties": { "old": { "type": "string" }, "new": { "type": "string" }, "allowMultiple": { "type": "boolean" } }, "required": ["old", "new"] } } }, "required": ["path", "replacements"] } },
      "apply_patch": { "description": "Apply one file operation in the Codex apply_patch format: create_file (diff lines all start with +), update_file (hunks opened by @@ or '@@ <a line above the change>', context lines with a leading space, removed lines with -, added lines with +) or delete_file (no diff).",
        "parameters": { "type": "object", "properties": { "operation": { "type": "object", "description": "The file operation to perform. type is one of create_file, update_file, or delete_file.", "properties": { "type": { "type": "string", "enum": ["create_file", "update_file", "delete_file"] }, "path": { "type": "string", "description": "File path relative to project root" }, "diff": { "type": "string", "description": "Required for create_file and update_file. Lines prefixed with + for creates, unified diff with @@ hunks for updates." } }, "required": ["type", "path"] } }, "required": ["operation"] } },
      "skill": { "description": "Load a skill by name to get its full instructions.",
        "parameters": { "type": "object", "properties": { "name": { "type": "string", "description": "The name of the skill to load" } }, "required": ["name"] } },
      "run_terminal_command": { "description": "Run a shell command in the project and return its output. The user may be asked to approve it.",
        "parameters": { "type": "object", "properties": { "command": { "type": "string" }, "process_type": { "type": "string", "enum": ["SYNC", "BACKGROUND"] }, "cwd": { "type": "string", "description": "Project-relative directory" }, "timeout_seconds": { "type": "number", "description": "Default 30; -1 for no limit" } }, "required": ["command"] } },
      "code_search": { "description": "Search file contents with a regular expression (ripgrep syntax).",
        "parameters": { "type": "object", "properties": { "pattern": { "type": "string" }, "flags": { "type": "string", "description": "Extra ripgrep flags, only these: -i -s -S -w -x -F -U, -g GLOB, --iglob GLOB, -t TYPE, -T TYPE, -A/-B/-C N, -m N (e.g. -i -g '*.cs'). No paths: use cwd." }, "cwd": { "type": "string" }, "maxResults": { "type": "number", "description": "Matches per file, default 15" } }, "required": ["pattern"] } },
      "list_directory": { "description": "List the files and folders of a project directory.",
        "parameters": { "type": "object", "properties": { "path": { "type": "string" } }, "required": ["path"] } },
      "glob": { "description": "Find project files matching a glob pattern such as src/**/*.cs.",
        "parameters": { "type": "object", "properties": { "pattern": { "type": "string" }, "cwd": { "type": "string" } }, "required": ["pattern"] } },
      "find_files": { "description": "Ask a helper model which project files matter for a description, and read them.",
        "parameters": { "type": "object", "properties": { "prompt": { "type": "string" } }, "required": ["prompt"] } },
      "think_deeply": { "description": "Think through a hard problem step by step before acting. Nobody sees the thought but you.",
        "parameters": { "type": "object", "properties": { "thought": { "type": "string" } }, "required": ["thought"] } },
      "write_todos": { "description": "Write or update the task list for this request.",
        "parameters": { "type": "object", "properties": { "todos": { "type": "array", "items": { "type": "object", "properties": { "task": { "type": "string" }, "completed": { "type": "boolean" } }, "required": ["task", "completed"] } } }, "required": ["todos"] } },
      "ask_user": { "description": "Ask the user multiple-choice questions and wait for the answers.",
        "parameters": { "type": "object", "properties": { "questions": { "type": "array", "items": { "type": "object", "properties": { "question": { "type": "string" }, "header": { "type": "string" }, "options": { "type": "array", "items": { "type": "object", "properties": { "label": { "type": "string" }, "description": { "type": "string" } }, "required": ["label"] } }, "multiSelect": { "type": "boolean" } }, "required": ["question", "options"] } } }, "required": ["questions"] } },
      "set_output": { "description": "Set this agent's output, returned to whoever spawned it.",
        "parameters": { "type": "object", "properties": {}, "additionalProperties": true } },
      "end_turn": { "description": "End your turn when the request is complete.",
        "parameters": { "type": "object", "properties": {} } },
      "task_completed": { "description": "Signal that the task is complete.",
        "parameters": { "type": "object", "properties": {} } },
      "suggest_followups": { "description": "Suggest follow-up prompts the user may send next.",
        "parameters": { "type": "object", "properties": { "followups": { "type": "array", "items": { "type": "object", "properties": { "prompt": { "type": "string" }, "label": { "type": "string" } }, "required": ["prompt"] } } }, "required": ["followups"] } },
      "spawn_agents": { "description": "Run sub-agents in parallel and get their outputs.",
        "parameters": { "type": "object", "properties": { "agents": { "type": "array", "items": { "type": "object", "properties": { "agent_type": { "type": "string" }, "prompt": { "type": "string" }, "params": { "type": "object" } }, "required": ["agent_type"] } } }, "required": ["agents"] } },
      "web_search": { "description": "Search the web for current information.",
        "parameters": { "type": "object", "properties": { "query": { "type": "string" }, "depth": { "type": "string", "enum": ["standard", "deep"] } }, "required": ["query"] } },
      "read_docs": { "description": "Fetch documentation of a library, optionally about one topic.",
        "parameters": { "type": "object", "properties": { "libraryTitle": { "type": "string" }, "topic": { "type": "string" }, "max_tokens": { "type": "number" } }, "required": ["libraryTitle"] } }
    }
    """)!.AsObject();

    public static bool IsKnown(string name) => Definitions.ContainsKey(name);

    /// <summary>The <c>tools</c> array of a chat request for this agent; spawn_agents lists the agents it may spawn.</summary>
    public static JsonArray For(AgentDefinition agent, IReadOnlyList<AgentDefinition> spawnable, IReadOnlyDictionary<string, Skill>? skills = null)
    {
        var tools = new JsonArray();
        foreach (var name in agent.ToolNames.Distinct())
        {
            if (Definitions[name] is not JsonObject def) continue;
            var description = name == "skill" ? Skills.ToolDescription(skills ?? new Dictionary<string, Skill>()) : (string)def["description"]!;
            if (name == "spawn_agents" && spawnable.Count > 0)
                description += " Agents you may spawn (agent_type: what it does): " +
                               string.Join("; ", spawnable.Select(a => $"{a.Id}: {a.SpawnerPrompt ?? a.DisplayName}"));
            tools.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["description"] = description, ["parameters"] = def["parameters"]!.DeepClone() },
            });
        }
        return tools;
    }
}
