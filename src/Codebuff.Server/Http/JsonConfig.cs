namespace Codebuff.Server.Http;

static class JsonConfig
{
    public static void Apply(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.Converters.Add(new IsoUtcDateTimeConverter());
    }
}
