using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Codebuff.Server.Auth;
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

    public CapturingEmailSender Sender => _sender ??= new CapturingEmailSender(Emails);
    CapturingEmailSender? _sender;

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IEmailSender>(Sender);

    /// <summary>Waits until the sign-up and reset requests made so far are carried out (PasswordMail works after the page answers).</summary>
    public async Task PasswordMailDoneAsync()
    {
        var mail = Services.GetRequiredService<PasswordMail>();
        for (var i = 0; i < 200 && mail.Pending > 0; i++) await Task.Delay(50);
        Assert.Equal(0, mail.Pending);
    }

    /// <summary>The one e-mail sent to <paramref name="to"/> (case-insensitively), once the queued requests are done.</summary>
    public async Task<EmailMessage> SingleEmailToAsync(string to)
    {
        await PasswordMailDoneAsync();
        return Assert.Single(Emails, m => string.Equals(m.To, to, StringComparison.OrdinalIgnoreCase));
    }

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
