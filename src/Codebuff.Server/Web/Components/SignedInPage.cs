using Microsoft.AspNetCore.Components;

namespace Codebuff.Server.Web.Components;

/// <summary>
/// A page only a signed-in user sees: anyone else is sent to /login and brought back afterwards. Pages override
/// <see cref="OnSignedInAsync"/> instead of OnInitializedAsync, so no page can forget the check.
/// </summary>
public abstract class SignedInPage : ComponentBase
{
    [CascadingParameter] public HttpContext HttpContext { get; set; } = null!;
    [Inject] protected NavigationManager Navigation { get; set; } = null!;

    protected Caller Caller => Caller.Of(HttpContext);

    /// <summary>The signed-in user; set before <see cref="OnSignedInAsync"/> runs.</summary>
    protected User User => Caller.Required;

    /// <summary>Cancelled when the browser goes away.</summary>
    protected CancellationToken Aborted => HttpContext.RequestAborted;

    protected sealed override async Task OnInitializedAsync()
    {
        if (Caller.User is null)
        {
            Navigation.NavigateTo(Dashboard.SignInUrl(HttpContext.Request), forceLoad: true);
            return;
        }
        await OnSignedInAsync();
    }

    protected abstract Task OnSignedInAsync();
}
