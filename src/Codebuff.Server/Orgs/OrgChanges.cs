using static Codebuff.Server.Orgs.OrgAccess;

namespace Codebuff.Server.Orgs;

/// <summary>The validated changes of one PATCH, applied in one UPDATE that also re-checks the caller's admin role.</summary>
sealed class OrgChanges
{
    readonly Dictionary<string, object?> _values = [];

    public bool EnablesAutoTopup => _values.TryGetValue("autoTopupEnabled", out var v) && v is true;

    /// <summary>The settings that decide when and how much the org's card is charged: only owners change them.</summary>
    public static readonly string[] CardSettings = ["autoTopupEnabled", "autoTopupThreshold", "autoTopupAmount"];

    public bool ChangesCardSettings => CardSettings.Any(_values.ContainsKey);

    public string? Text(JsonObject body, string key, bool required)
    {
        if (!body.TryGetPropertyValue(key, out var node)) return required ? $"{key} is required" : null;
        if (key == "name")
        {
            if (OrgNames.Error(OrgRequests.Str(body, key)) is { } e) return e;
            _values[key] = OrgRequests.Str(body, key)!.Trim();
            return null;
        }
        if (node is not null && OrgRequests.Str(body, key) is null) return $"{key} must be a string or null";
        _values[key] = OrgRequests.Str(body, key);
        return null;
    }

    public string? Flag(JsonObject body, string key)
    {
        if (!body.ContainsKey(key)) return null;
        if (OrgRequests.Bool(body, key) is not { } b) return $"{key} must be true or false";
        _values[key] = b;
        return null;
    }

    public string? Number(JsonObject body, string key, int min, bool nullable, int max = int.MaxValue)
    {
        if (!body.TryGetPropertyValue(key, out var node)) return null;
        if (node is null && nullable) { _values[key] = null; return null; }
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var n) && n >= min && n <= max) { _values[key] = n; return null; }
        var range = max == int.MaxValue ? $"of at least {min}" : $"from {min} to {max}";
        return $"{key} must be a whole number {range}{(nullable ? " or null" : "")}";
    }

    public async Task<bool> ApplyAsync(OrgCaller caller, AppDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var v = _values;
        // Card settings re-check ownership in the same statement, so an owner demoted meanwhile cannot slip through.
        var admin = ChangesCardSettings ? OwnedBy(db, caller.User.Id) : AdministeredBy(db, caller.User.Id);
        return await db.Orgs.Where(o => o.Id == caller.OrgId && admin.Contains(o.Id)).ExecuteUpdateAsync(s =>
        {
            s.SetProperty(o => o.UpdatedAt, now);
            if (v.TryGetValue("name", out var name)) s.SetProperty(o => o.Name, (string)name!);
            if (v.TryGetValue("description", out var description)) s.SetProperty(o => o.Description, (string?)description);
            if (v.TryGetValue("autoTopupEnabled", out var enabled)) s.SetProperty(o => o.AutoTopupEnabled, (bool)enabled!);
            if (v.TryGetValue("billingAlerts", out var billing)) s.SetProperty(o => o.BillingAlerts, (bool)billing!);
            if (v.TryGetValue("usageAlerts", out var usage)) s.SetProperty(o => o.UsageAlerts, (bool)usage!);
            if (v.TryGetValue("weeklyReports", out var weekly)) s.SetProperty(o => o.WeeklyReports, (bool)weekly!);
            if (v.TryGetValue("autoTopupThreshold", out var threshold)) s.SetProperty(o => o.AutoTopupThreshold, (int)threshold!);
            if (v.TryGetValue("autoTopupAmount", out var amount)) s.SetProperty(o => o.AutoTopupAmount, (int)amount!);
            if (v.TryGetValue("creditLimit", out var limit)) s.SetProperty(o => o.CreditLimit, (int?)limit);
        }, ct) == 1;
    }
}
