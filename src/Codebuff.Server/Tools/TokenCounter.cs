using Microsoft.ML.Tokenizers;

namespace Codebuff.Server.Tools;

/// <summary>
/// Local token counts with OpenAI's o200k_base encoding. The vocabulary ships inside the
/// Microsoft.ML.Tokenizers.Data.O200kBase package, so counting works offline. The vocabulary (200,000 entries, tens of
/// MB of managed memory) is loaded by the first count, not with the chat proxy: most instances never count (providers
/// report usage), and it was most of the memory a server took on with its first chat call (bench/README.md, memory).
/// </summary>
public sealed class TokenCounter
{
    readonly Lazy<Tokenizer> _tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : _tokenizer.Value.CountTokens(text);
}
