using Codebuff.Server.Orgs;
using Microsoft.AspNetCore.Components;

namespace Codebuff.Server.Web.Components.Pages.Organizations;

/// <summary>
/// A page of one org (/orgs/{slug}/…): members only — anyone else gets the 404 the API answers, so an outsider learns
/// nothing. Manager actions go through the same Orgs/ functions, and so the same permission check, as the JSON API.
/// </summary>
public abstract class OrgPage : SignedInPage
{
    [Parameter] public string Slug { get; set; } = "";
    [Inject] protected AppDbContext Db { get; set; } = null!;
    [Inject] protected TimeProvider Clock { get; set; } = null!;

    /// <summary>The signed-in member and their role; null when the org does not exist for them.</summary>
    protected OrgCaller? Member { get; private set; }
    protected Org Org { get; set; } = null!;
    protected int MemberCount { get; private set; }
    protected int RepositoryCount { get; private set; }
    protected bool IsManager => Member?.Membership is { } role && OrgAccess.IsAdmin(role);
    protected bool IsOwner => Member?.Membership == OrgRole.Owner;

    /// <summary>What the last action did, or why it was refused (shown in a role="alert" notice).</summary>
    protected string? Done { get; set; }
    protected string? Problem { get; set; }

    protected sealed override async Task OnSignedInAsync()
    {
        if (await OrgQueries.MembershipBySlugAsync(Db, Slug, User.Id, Aborted) is not { } membership
            || await OrgQueries.WithCountsAsync(Db, membership.OrgId, Aborted) is not { } org)
        {
            PageStatus.Set(HttpContext, StatusCodes.Status404NotFound);
            return;
        }
        Member = new OrgCaller(User, membership.OrgId, membership.Role);
        (Org, MemberCount, RepositoryCount) = (org.Org, org.MemberCount, org.RepositoryCount);
        await OnMemberAsync();
    }

    protected abstract Task OnMemberAsync();

    /// <summary>A posted field (row forms name their own fields; the form's name picks the handler).</summary>
    protected string Posted(string key) => HttpContext.Request.HasFormContentType ? HttpContext.Request.Form[key].ToString() : "";

    /// <summary>Records an action's outcome, then reloads the page's data so it shows the change.</summary>
    protected async Task OutcomeAsync(Refusal? refusal, string done)
    {
        (Done, Problem) = refusal is null ? (done, (string?)null) : ((string?)null, refusal.Message);
        await OnMemberAsync();
    }
}
