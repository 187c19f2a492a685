namespace Codebuff.Cli.Runs;

/// <summary>The session modes of clients.md §2.5: which agent a prompt runs and the cost mode sent with its LLM calls.</summary>
public sealed record Mode(string Name, string AgentId, string CostMode)
{
    public static readonly Mode Default = new("DEFAULT", "base2", "normal");
    public static readonly Mode Free = new("FREE", "base2-free", "free");
    public static readonly Mode Max = new("MAX", "base2-max", "max");
    public static readonly Mode Plan = new("PLAN", "base2-plan", "normal");

    public static readonly IReadOnlyList<Mode> All = [Default, Free, Max, Plan];

    public static Mode? Find(string name) => All.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
}
