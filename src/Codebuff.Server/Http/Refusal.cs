namespace Codebuff.Server.Http;

/// <summary>
/// Why feature logic refused a change (orgs, billing, payments, profile, publishers, publishing): the status and
/// message of its <c>{"error"}</c> answer, which endpoints return as JSON and pages show as a notice. The one way
/// feature logic reports a refusal. Publishing's steps add the sentence and hint its route answers beside the error
/// (<c>{"error","details","hint"}</c>, api.md §4.6).
/// </summary>
public sealed record Refusal(int Status, string Message, string? Details = null, string? Hint = null)
{
    public ErrorResult ToResult() => Errors.Error(Status, Message);
}
