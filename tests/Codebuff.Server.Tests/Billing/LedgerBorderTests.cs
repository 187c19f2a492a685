using System.Reflection;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Web;

namespace Codebuff.Server.Tests.Billing;

/// <summary>
/// The ledger's border (issue 29): the compiler keeps the credit-grant entity inside Codebuff.Data and Codebuff.Ledger;
/// these keep SQL text naming its table there too, and the ledger's public surface small and documented.
/// </summary>
public sealed class LedgerBorderTests
{
    static readonly string Source = Path.Combine(DashboardTab.RepositoryRoot(), "src");
    static readonly string[] Owners = ["Codebuff.Ledger", "Codebuff.Data"];
    static readonly string[] Skipped = ["bin", "obj", "node_modules"];

    [Fact]
    public void No_source_outside_the_ledger_and_the_data_model_names_credit_ledger()
    {
        var scanned = SourceFiles().Where(f => !Owners.Contains(Path.GetRelativePath(Source, f).Split(Path.DirectorySeparatorChar)[0])).ToList();
        Assert.Contains(scanned, f => f.EndsWith("ChatGate.cs", StringComparison.Ordinal)); // the scan sees the server's source
        var strays = scanned.Where(f => File.ReadAllText(f).Contains("credit_ledger", StringComparison.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(Source, f)).ToList();
        Assert.True(strays.Count == 0, $"credit_ledger named outside src/Codebuff.Ledger and src/Codebuff.Data: {string.Join(", ", strays)}");
    }

    [Fact]
    public void The_ledger_shows_at_most_15_types_each_listed_in_its_readme()
    {
        var exported = typeof(CreditLedger).Assembly.GetExportedTypes();
        Assert.True(exported.Length <= 15, $"{exported.Length} public types: {string.Join(", ", exported.Select(t => t.FullName))}");
        var readme = File.ReadAllText(Path.Combine(Source, "Codebuff.Ledger", "README.md"));
        Assert.All(exported, t => Assert.Contains($"| `{t.Name}` |", readme));
        Assert.Contains($"## Public surface ({exported.Length} types)", readme);
    }

    [Fact]
    public void The_grant_entity_is_internal_and_the_ledger_references_no_server_code()
    {
        var grant = typeof(AppDbContext).Assembly.GetType("Codebuff.Server.Data.CreditGrant", throwOnError: true)!;
        Assert.False(grant.IsPublic);
        var set = typeof(AppDbContext).GetProperty("CreditLedger", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!;
        Assert.False(set.GetMethod!.IsPublic);
        Assert.DoesNotContain(typeof(CreditLedger).Assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("Codebuff.Server", StringComparison.Ordinal));
    }

    static IEnumerable<string> SourceFiles()
    {
        var pending = new Stack<string>([Source]);
        while (pending.TryPop(out var dir))
        {
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (!Skipped.Contains(Path.GetFileName(sub)) && !Path.GetFileName(sub).StartsWith('.')) pending.Push(sub);
            foreach (var file in Directory.EnumerateFiles(dir)) yield return file;
        }
    }
}
