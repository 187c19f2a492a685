using Microsoft.EntityFrameworkCore.Design;

namespace Codebuff.Server.Data;

/// <summary>Lets `dotnet ef migrations add` build the model without starting the server or a database.</summary>
sealed class DesignTimeFactory : IDesignTimeDbContextFactory<AppDbContext>
{
    public AppDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<AppDbContext>();
        AppDbContext.Configure(options, "Host=localhost;Database=design_time");
        return new AppDbContext(options.Options);
    }
}
