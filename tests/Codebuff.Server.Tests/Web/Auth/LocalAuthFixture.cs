using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Codebuff.Server.Hosting;
using Codebuff.Server.Tests.Auth;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Web.Auth;

/// <summary>The server with GitHub configured (a fake) and an e-mail sender that keeps the sign-up and reset links.</summary>
public class LocalAuthFixture : AuthFixture
{
    public ConcurrentQueue<EmailMessage> Emails { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:RateLimits:PasswordPerMinute"] = "1000"; // the limit has its own test
        return s;
    }

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<IEmailSender>(new CapturingEmailSender(Emails));

    /// <summary>The one e-mail sent to <paramref name="to"/> (case-insensitively).</summary>
    public EmailMessage SingleEmailTo(string to) => Assert.Single(Emails, m => string.Equals(m.To, to, StringComparison.OrdinalIgnoreCase));

    /// <summary>The path and query of the link in an e-mail (links name the configured AppUrl; the test server has its own).</summary>
    public static string LinkPath(EmailMessage message) =>
        Regex.Match(message.Text, @"http://localhost:5000(/reset-password\?token=[0-9a-f]{64}[^\s]*)").Groups[1].Value is { Length: > 0 } path
            ? path : throw new Xunit.Sdk.XunitException("no link in: " + message.Text);
}

/// <summary>A server with a tight limit on password form posts.</summary>
public sealed class TightPasswordLimitFixture : ServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:RateLimits:PasswordPerMinute"] = "3";
        return s;
    }
}

/// <summary>A server that takes no sign-ups.</summary>
public sealed class ClosedSignupFixture : LocalAuthFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Auth:AllowSignup"] = "false";
        return s;
    }
}
