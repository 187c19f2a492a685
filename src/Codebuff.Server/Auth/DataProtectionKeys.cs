using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Codebuff.Server.Auth;

/// <summary>
/// The Data Protection key ring (it protects the dashboard's antiforgery tokens) in the database, table
/// service.data_protection_key, under one application name: every instance on this database reads and writes the same
/// keys, so a form served by one instance is accepted by another and by a redeployed one. By default the keys would
/// live in the home folder of each host (~/.aspnet/DataProtection-Keys), and each host or fresh container would refuse
/// the others' tokens. The keys are stored unencrypted, like the session hashes (README "Scaling out"); never log them.
/// </summary>
public static class DataProtectionKeys
{
    public static void AddDataProtectionKeys(this IServiceCollection services, string connectionString)
    {
        services.AddDataProtection().SetApplicationName("codebuff");
        // Data Protection reads the ring rarely (at start, when its cache expires or a payload names an unseen key) and
        // writes a key every 90 days; a second caller waits for the one connection. README "Scaling out" counts it.
        var oneConnection = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1 }.ConnectionString;
        services.AddSingleton(_ =>
        {
            var source = new NpgsqlDataSourceBuilder(oneConnection) { Name = "codebuff-data-protection" };
            return new Store(source.Build());
        });
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp =>
            new ConfigureOptions<KeyManagementOptions>(o => o.XmlRepository = sp.GetRequiredService<Store>()));
    }

    /// <summary>Data Protection's own interface is synchronous; it calls it rarely (the ring is cached).</summary>
    public sealed class Store(NpgsqlDataSource source) : IXmlRepository, IDisposable
    {
        public IReadOnlyCollection<XElement> GetAllElements()
        {
            using var cmd = source.CreateCommand("SELECT xml FROM service.data_protection_key ORDER BY id");
            using var reader = cmd.ExecuteReader();
            var keys = new List<XElement>();
            while (reader.Read()) keys.Add(XElement.Parse(reader.GetString(0)));
            return keys;
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            using var cmd = source.CreateCommand("INSERT INTO service.data_protection_key (friendly_name, xml) VALUES ($1, $2)");
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)friendlyName ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
            cmd.ExecuteNonQuery();
        }

        public void Dispose() => source.Dispose();
    }
}
