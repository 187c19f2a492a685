using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Schema;

public sealed class SchemaTests
{
    /// <summary>
    /// Migrates an empty database and compares every enum, table, column (type, nullability, default, generated
    /// expression), constraint (primary, unique, foreign with its ON DELETE action, check) and index (method, columns,
    /// partial predicate) with expected-schema.txt, which was checked line by line against shared/spec/schema.md.
    /// </summary>
    [Fact]
    public async Task Migrations_reproduce_the_seed_schema_exactly()
    {
        var cs = await TestCluster.CreateEmptyDatabaseAsync();
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, cs);
        await using (var db = new AppDbContext(options.Options))
            await db.Database.MigrateAsync();

        var actual = await SchemaDescriber.DescribeAsync(cs);
        // After a deliberate schema change: CODEBUFF_SCHEMA_SNAPSHOT=/tmp/schema.txt dotnet test, review, copy over.
        if (Environment.GetEnvironmentVariable("CODEBUFF_SCHEMA_SNAPSHOT") is { Length: > 0 } snapshot)
            await File.WriteAllLinesAsync(snapshot, actual);
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Schema", "expected-schema.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        var missing = expected.Except(actual).ToList();
        var extra = actual.Except(expected).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"schema differs from the seed.\nmissing:\n  {string.Join("\n  ", missing)}\nunexpected:\n  {string.Join("\n  ", extra)}");
        Assert.Equal(20, actual.Count(l => l.StartsWith("table ")));
    }

    [Fact]
    public async Task Model_has_no_changes_pending_a_migration()
    {
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, await TestCluster.CreateDatabaseAsync());
        await using var db = new AppDbContext(options.Options);
        Assert.False(db.Database.HasPendingModelChanges(), "the EF model changed without a migration: run dotnet ef migrations add");
    }
}
