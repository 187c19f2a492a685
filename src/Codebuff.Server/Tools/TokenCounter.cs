using Microsoft.ML.Tokenizers;

namespace Codebuff.Server.Tools;

/// <summary>
/// Local token counts with OpenAI's o200k_base encoding. The vocabulary ships inside the
/// Microsoft.ML.Tokenizers.Data.O200kBase package, so counting works offline.
/// </summary>
public sealed class TokenCounter
{
    readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");

    public int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : _tokenizer.CountTokens(text);
}
