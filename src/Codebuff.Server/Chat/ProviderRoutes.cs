namespace Codebuff.Server.Chat;

/// <summary>One provider a call may be sent to and the key it goes with; <see cref="StoredKeyType"/> names the user's stored key used.</summary>
public sealed record ProviderRoute(ProviderOptions Provider, string? Key, bool Byok, string? StoredKeyType = null);

/// <summary>
/// The configured providers ("Codebuff:Providers", or the single "Codebuff:Upstream" as a one-provider list) and the
/// order a call tries them in (README "Providers and fallback").
/// </summary>
public sealed class ProviderRoutes
{
    /// <summary>Every provider, lowest Priority first (equal priorities in the list's order).</summary>
    public IReadOnlyList<ProviderOptions> Providers { get; }

    /// <summary>Reads and checks the settings: a bad entry stops the server at start, naming the setting.</summary>
    public ProviderRoutes(IConfiguration config)
    {
        var listed = config.GetSection("Codebuff:Providers").Get<List<ProviderOptions>>() ?? [];
        if (listed.Count == 0)
        {
            listed = [FromUpstream(config.GetSection("Codebuff:Upstream").Get<UpstreamOptions>() ?? new UpstreamOptions())];
        }
        foreach (var (p, i) in listed.Select((p, i) => (p, i))) Validate(p, i);
        var duplicate = listed.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOperationException($"Codebuff:Providers: the name '{duplicate.Key}' is used twice.");
        Providers = listed.Select((p, i) => (p, i)).OrderBy(x => x.p.Priority).ThenBy(x => x.i).Select(x => x.p).ToList();
    }

    /// <summary>
    /// "Codebuff:Upstream" as the one provider serving every model. Without a Kind, OpenRouter is told by IsOpenRouter
    /// or the base URL's host; Kind=anthropic with the base URL left at its (OpenRouter) default calls Anthropic's API.
    /// </summary>
    static ProviderOptions FromUpstream(UpstreamOptions u)
    {
        var kind = u.Kind?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(kind))
            kind = u.IsOpenRouter ?? (Uri.TryCreate(u.BaseUrl, UriKind.Absolute, out var url) && url.Host.EndsWith("openrouter.ai", StringComparison.OrdinalIgnoreCase))
                ? "openrouter" : "openai";
        else if (!ProviderDialect.Kinds.Contains(kind))
            throw new InvalidOperationException($"Codebuff:Upstream:Kind '{u.Kind}' is not one of: {string.Join(", ", ProviderDialect.Kinds)}.");
        var baseUrl = kind == "anthropic" && u.BaseUrl == new UpstreamOptions().BaseUrl ? ProviderDialect.AnthropicBaseUrl : u.BaseUrl;
        // [our choice] an Anthropic upstream serves only Anthropic's models, so a user's stored anthropic key is used for it.
        return new ProviderOptions { Name = "upstream", Kind = kind, BaseUrl = baseUrl, ApiKey = u.ApiKey, Models = ["*"], KeyType = kind == "anthropic" ? "anthropic" : null, ReportsCost = u.ReportsCost };
    }

    static void Validate(ProviderOptions p, int i)
    {
        var at = $"Codebuff:Providers:{i}";
        if (string.IsNullOrWhiteSpace(p.Name)) throw new InvalidOperationException($"{at}:Name is required.");
        p.Kind = p.Kind.Trim().ToLowerInvariant();
        if (!ProviderDialect.Kinds.Contains(p.Kind))
            throw new InvalidOperationException($"{at}:Kind '{p.Kind}' is not one of: {string.Join(", ", ProviderDialect.Kinds)}.");
        if (!Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new InvalidOperationException($"{at}:BaseUrl must be an absolute http(s) URL.");
        if (p.Models.Count == 0 || p.Models.Any(string.IsNullOrWhiteSpace)) throw new InvalidOperationException($"{at}:Models must name at least one model or prefix.");
        if (p.KeyType is { Length: 0 }) p.KeyType = null;
        if (p.KeyType is not null && !ByokEndpoints.Types.Contains(p.KeyType))
            throw new InvalidOperationException($"{at}:KeyType '{p.KeyType}' is not one of: {string.Join(", ", ByokEndpoints.Types)}.");
        if (p.KeyType is not null && (p.KeyType == "anthropic") != (p.Kind == "anthropic"))
            throw new InvalidOperationException($"{at}:KeyType '{p.KeyType}' does not fit Kind '{p.Kind}': anthropic keys go only to Kind anthropic, which takes no other key type.");
    }

    /// <summary>The providers serving the model that can bill it (<see cref="ProviderOptions.Bills"/>), in the order they are tried.</summary>
    public IReadOnlyList<ProviderOptions> Serving(string model) => Providers.Where(p => p.Serves(model) && p.Bills(model)).ToList();

    /// <summary>Whether some provider lists the model but none can bill it: our table has no price for it.</summary>
    public bool ListedUnpriced(string model) => Providers.Any(p => p.Serves(model)) && !Providers.Any(p => p.Serves(model) && p.Bills(model));

    /// <summary>The key types a call for this model could use a stored key of (empty: no stored key needs reading).</summary>
    public IReadOnlyList<string> KeyTypesFor(IReadOnlyList<ProviderOptions> serving) => serving.Select(p => p.KeyType).OfType<string>().Distinct().ToList();

    /// <summary>
    /// The routes a call tries in order. A key in the request's header is the caller's own, for the first provider
    /// only (the caller leaves it out for a provider that does not <see cref="ProviderOptions.ChecksKeys"/>). Otherwise, when the user stored a key of some serving provider's KeyType, only those providers are tried,
    /// each with the user's key: a BYOK call never falls back to the server's key. Otherwise every serving provider,
    /// with the server's key.
    /// </summary>
    public static IReadOnlyList<ProviderRoute> Plan(IReadOnlyList<ProviderOptions> serving, string? headerKey, IReadOnlyDictionary<string, string> storedKeys)
    {
        if (serving.Count == 0) return [];
        if (headerKey is not null) return [new ProviderRoute(serving[0], headerKey, Byok: true)];
        var own = serving.Where(p => p.KeyType is not null && storedKeys.ContainsKey(p.KeyType))
            .Select(p => new ProviderRoute(p, storedKeys[p.KeyType!], Byok: true, p.KeyType)).ToList();
        return own.Count > 0 ? own : serving.Select(p => new ProviderRoute(p, p.ApiKey, Byok: false)).ToList();
    }
}
