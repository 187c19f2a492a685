namespace Codebuff.Server.Hosting;

/// <summary>
/// Why feature logic refused a change (orgs, billing, payments, profile, publishers, publishing): the status and
/// message of its <c>{"error"}</c> answer, which endpoints return as JSON and pages show as a notice. The one way
/// feature logic reports a refusal.
/// </summary>
public sealed record Refusal(int Status, string Message)
{
    public ErrorResult ToResult() => Errors.Error(Status, Message);
}
