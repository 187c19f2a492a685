using System.Security.Cryptography;

namespace Codebuff.Server.PrivateData;

static class Secrets
{
    /// <summary>
    /// The configured value, or one generated once and kept in DataDir (mode 0600 from creation) so that tokens and login
    /// hashes stay valid across restarts of a server that was given no secret. Two processes sharing a DataDir and
    /// starting together agree on one value: the file appears atomically and the loser reads the winner's.
    /// </summary>
    public static string LoadOrCreate(string? configured, string dataDir, string fileName)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        var path = Path.Combine(Path.GetFullPath(dataDir), fileName);
        if (File.Exists(path)) return File.ReadAllText(path).Trim();
        PrivateFiles.CreateDataDirectory(Path.GetDirectoryName(path)!);
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.Delete(temp); // left by a process of the same id that died between writing and moving it
        PrivateFiles.WriteNew(temp, secret);
        try
        {
            File.Move(temp, path, overwrite: false);
            return secret;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
            return File.ReadAllText(path).Trim();
        }
    }
}
