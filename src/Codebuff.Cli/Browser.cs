using System.Diagnostics;

namespace Codebuff.Cli;

static class Browser
{
    /// <summary>Opens a URL in the user's browser; over SSH, or with no opener, the printed URL has to do.</summary>
    public static void Open(string url)
    {
        if (Environment.GetEnvironmentVariable("SSH_CONNECTION") is { Length: > 0 }) return;
        var opener = OperatingSystem.IsMacOS() ? "open" : "xdg-open";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(opener, [url]) { RedirectStandardError = true, RedirectStandardOutput = true });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No opener installed: the URL is on screen.
        }
    }
}
