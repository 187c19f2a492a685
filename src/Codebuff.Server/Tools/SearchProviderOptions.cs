namespace Codebuff.Server.Tools;

public sealed class SearchProviderOptions
{
    public string BaseUrl { get; set; } = "";
    public string? ApiKey { get; set; }
}
