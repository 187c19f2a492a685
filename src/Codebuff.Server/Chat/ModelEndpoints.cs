namespace Codebuff.Server.Chat;

/// <summary>
/// GET /api/v1/models and /api/v1/models/{id} in OpenAI's shape, so OpenAI clients that list models can be pointed at
/// the proxy; our prices ride along as extra fields (README "Models").
/// </summary>
public static class ModelEndpoints
{
    // [our choice] OpenAI's "created" has no meaning for a routed model: the date the price table was last revised.
    const long Created = 1764547200; // 2025-12-01T00:00:00Z

    public static void MapModels(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/api/v1/models").RequireCaller(CallerAuthentication.ApiKey, Unauthenticated.Tools).RefuseSuspended();
        models.MapGet("", List).Answers<ModelList>();
        models.MapGet("/{**id}", Get).Answers<Model>().RefusesWith<ModelNotFound>(404);
    }

    /// <summary>Prices in USD per million tokens; <see cref="Default"/> when the table does not know the model (the default price applies).</summary>
    public sealed record Pricing(
        [property: JsonPropertyName("input_usd_per_million")] double Input,
        [property: JsonPropertyName("cached_input_usd_per_million")] double CachedInput,
        [property: JsonPropertyName("output_usd_per_million")] double Output,
        [property: JsonPropertyName("credits_per_usd")] double CreditsPerUsd,
        [property: JsonPropertyName("default")] bool Default);

    public sealed record Model(string Id, string Object, long Created, [property: JsonPropertyName("owned_by")] string OwnedBy, Pricing Pricing, string[] Providers);
    public sealed record ModelList(string Object, IReadOnlyList<Model> Data);
    public sealed record ModelNotFound(ModelNotFoundError Error);
    public sealed record ModelNotFoundError(string Message, string Type, string Param, string Code);

    /// <summary>
    /// The price table's models and the providers' exact model names, each only if some provider serves it
    /// ([our choice]: a listed model can always be called).
    /// </summary>
    static Ok<ModelList> List(ProviderRoutes routes)
    {
        var ids = CreditPricing.PricedModels.Concat(routes.Providers.SelectMany(p => p.Models).Where(m => !m.EndsWith('*')))
            .Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal);
        var data = ids.Select(id => Describe(id, routes)).OfType<Model>().ToList();
        return TypedResults.Ok(new ModelList("list", data));
    }

    /// <summary>
    /// Any model a provider serves, prefix entries included ("openai/*" serves "openai/o3"). The id may come with its
    /// "/" encoded, as the openai SDK sends it, which the catch-all leaves as "%2F".
    /// </summary>
    static Results<Ok<Model>, JsonHttpResult<ModelNotFound>> Get(string id, ProviderRoutes routes) => Describe(id = Uri.UnescapeDataString(id), routes) is { } model
        ? TypedResults.Ok(model)
        : NotFound($"The model '{id}' does not exist or no configured provider serves it.");

    /// <summary>OpenAI's 404 for a model: here and from chat completions.</summary>
    public static JsonHttpResult<ModelNotFound> NotFound(string message) =>
        TypedResults.Json(new ModelNotFound(new(message, "invalid_request_error", "model", "model_not_found")), statusCode: 404);

    static Model? Describe(string id, ProviderRoutes routes)
    {
        var serving = routes.Serving(id);
        if (serving.Count == 0) return null;
        var (price, known) = CreditPricing.PriceOf(id);
        var slash = id.IndexOf('/');
        return new Model(id, "model", Created, slash > 0 ? id[..slash] : serving[0].Name,
            new Pricing((double)price.Input, (double)price.CachedInput, (double)price.Output, (double)(100m * (1 + CreditPricing.ProfitMargin)), !known), serving.Select(p => p.Name).ToArray());
    }
}
