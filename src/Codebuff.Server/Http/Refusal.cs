namespace Codebuff.Server.Http;

/// <summary>
/// Why feature logic refused a change (orgs, billing, payments, profile): the status and message of its
/// <c>{"error"}</c> answer, which endpoints return as JSON and pages show as a notice.
/// </summary>
public sealed record Refusal(int Status, string Message)
{
    public IResult ToResult() => Errors.Error(Status, Message);
}
