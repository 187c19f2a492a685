using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.PrivateData;

/// <summary>
/// What the server creates in DataDir is private: the directory 0700, the generated secret 0600. (That the mode is
/// given at creation, not by a chmod after the write, is Codebuff.Data/PrivateFiles.cs: a test cannot see that window.)
/// </summary>
public sealed class PrivateFilesTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public void The_data_directory_is_0700_and_the_generated_secret_0600()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(server.DataDir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(server.DataDir, "byok.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(server.DataDir, "billing")));
        Assert.Empty(Directory.GetFiles(server.DataDir, "*.tmp"));
    }
}
