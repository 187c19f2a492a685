using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Codebuff.Server.Data;

/// <summary>
/// The app works in UTC DateTimes everywhere. timestamptz columns take them as they are; the schema's
/// "timestamp without time zone" columns hold UTC wall-clock values, which Npgsql only writes from
/// Kind=Unspecified, so those columns convert on the way in and mark the value UTC on the way out.
/// </summary>
static class Timestamps
{
    static readonly ValueConverter<DateTime, DateTime> Utc = new(
        v => DateTime.SpecifyKind(v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : v, DateTimeKind.Unspecified),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    static readonly ValueConverter<DateTime?, DateTime?> NullableUtc = new(
        v => v.HasValue ? DateTime.SpecifyKind(v.Value.Kind == DateTimeKind.Local ? v.Value.ToUniversalTime() : v.Value, DateTimeKind.Unspecified) : null,
        v => v.HasValue ? DateTime.SpecifyKind(v.Value, DateTimeKind.Utc) : null);

    public static PropertyBuilder<DateTime> IsUtcTimestamp(this PropertyBuilder<DateTime> p) =>
        p.HasColumnType("timestamp without time zone").HasConversion(Utc);

    public static PropertyBuilder<DateTime?> IsUtcTimestamp(this PropertyBuilder<DateTime?> p) =>
        p.HasColumnType("timestamp without time zone").HasConversion(NullableUtc);
}
