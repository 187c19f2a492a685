namespace Codebuff.Server.Agents;

/// <summary>Names the agent runtime accepts in toolNames and the agent types it treats as built in (facts from @codebuff/sdk 0.10.7).</summary>
public static class KnownTools
{
    public static readonly string[] Names =
    [
        "apply_patch", "add_subgoal", "add_message", "ask_user", "browser_logs", "code_search", "create_plan", "end_turn",
        "find_files", "glob", "list_directory", "lookup_agent_info", "propose_str_replace", "propose_write_file", "read_docs",
        "read_files", "read_subtree", "run_file_change_hooks", "run_terminal_command", "set_messages", "set_output", "skill",
        "spawn_agents", "spawn_agent_inline", "str_replace", "suggest_followups", "task_completed", "think_deeply",
        "update_subgoal", "web_search", "write_file", "write_todos",
    ];

    static readonly HashSet<string> NameSet = new(Names, StringComparer.Ordinal);

    public static bool IsKnown(string name) => NameSet.Contains(name);

    /// <summary>Agent types a definition may spawn by bare id without defining them (api.md §2.10 step 2).</summary>
    public static readonly string[] BuiltinAgentTypes =
    [
        "base", "base-free", "base-max", "base-experimental", "claude4-gemini-thinking", "superagent", "base-agent-builder",
        "ask", "planner", "dry-run", "thinker", "file-picker", "file-explorer", "researcher", "reviewer", "agent-builder",
        "example-programmatic",
    ];
}
