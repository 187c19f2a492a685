using Codebuff.Cli.Api;

namespace Codebuff.Cli.Tests.Accounts;

/// <summary>Rate limits and server errors as the sentences the user reads (the statuses the real server sends them with).</summary>
public sealed class ApiErrorTests
{
    [Fact]
    public void Rate_limits_say_when_to_retry_and_server_errors_say_to_try_again()
    {
        var limited = ApiErrors.FromStatus((HttpStatusCode)429, ApiErrors.ServerMessage("""{"error":"rate_limit_exceeded","message":"Too many requests"}"""),
            new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(42)), "http://x");
        Assert.Equal((5, "You are being rate limited; try again in 42 seconds. The server said: rate_limit_exceeded."), (limited.ExitCode, limited.Message));

        var broken = ApiErrors.FromStatus(HttpStatusCode.BadGateway, ApiErrors.ServerMessage("""{"error":{"message":"fake provider failure","code":500}}"""), null, "http://x");
        Assert.Equal((6, "The Codebuff server had an error (502). The server said: fake provider failure. Try again in a moment."), (broken.ExitCode, broken.Message));

        var broke = ApiErrors.FromStatus(HttpStatusCode.PaymentRequired, ApiErrors.ServerMessage("""{"message":"Out of credits. Please add credits at http://x/usage."}"""), null, "http://x");
        Assert.Equal(4, broke.ExitCode);
        Assert.Contains("Buy credits at http://x/usage", broke.Message);
    }
}
