using System.Net;

namespace Codebuff.Server.Tests.Web.Auth;

/// <summary>
/// The sign-up and forgot-password forms answer before any lookup, token or mail: an address with an account and one
/// without get the same answer in the same time (PasswordMail carries the request out afterwards).
/// </summary>
public sealed class PasswordMailTests(LocalAuthFixture server) : IClassFixture<LocalAuthFixture>
{
    [Fact]
    public async Task Both_forms_answer_while_the_mail_is_still_held_and_send_it_afterwards()
    {
        var known = $"known{Guid.NewGuid():N}@example.com";
        var unknown = $"unknown{Guid.NewGuid():N}@example.com";
        await server.CreateUserAsync(email: known);
        using var browser = FormPost.Browser(server);
        var held = new TaskCompletionSource();
        server.Sender.Gate = held.Task;
        try
        {
            foreach (var (page, form, address) in new[] { ("/forgot-password", "forgot", known), ("/forgot-password", "forgot", unknown), ("/signup", "signup", known) })
            {
                // Were the form to wait for the mail, this would not answer before the gate opens (it times out instead).
                var answer = await FormPost.PostAsync(browser, page, form, new() { ["Form.Email"] = address }).WaitAsync(TimeSpan.FromSeconds(20));
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                Assert.Contains($"If {address} can be used for this", await answer.Content.ReadAsStringAsync());
            }
            Assert.DoesNotContain(server.Emails, m => m.To == known);
        }
        finally
        {
            held.SetResult();
            server.Sender.Gate = Task.CompletedTask;
        }

        await server.PasswordMailDoneAsync();
        var mails = server.Emails.Where(m => m.To == known).Select(m => m.Subject).ToList();
        Assert.Equal(["Reset your Codebuff password", "Reset your Codebuff password"], mails); // the reset, and sign-up's "you already have an account"
        Assert.DoesNotContain(server.Emails, m => m.To == unknown);
    }
}
