using System.Text;
using Codebuff.Server.Chat;

namespace Codebuff.Server.Tests.Chat;

/// <summary>The relay's one-pass read of ordinary stream chunks, and which chunks it leaves to the full parse.</summary>
public sealed class ContentChunkTests
{
    static ContentChunk? Read(string json) => ContentChunk.Read(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Reads_id_model_and_the_first_choices_delta_texts()
    {
        var chunk = Read("""{"id":"gen-1","object":"chat.completion.chunk","model":"m\u00e9","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi \"there\"\n","reasoning_content":"hmm","tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"a\":1}"}},{"function":{"name":"g"}},{"id":"x"},7]}},{"delta":{"content":"second choice"}}],"extra":{"nested":[1,{"a":null}]}}""")!;
        Assert.Equal("gen-1", chunk.Id);
        Assert.Equal("mé", chunk.Model);
        Assert.True(chunk.HasDelta);
        Assert.Equal("Hi \"there\"\n", chunk.Content);
        Assert.Equal("hmm", chunk.Reasoning);
        Assert.Equal([new ToolCallDelta(0, null, "f", "{\"a\":1}"), new ToolCallDelta(1, null, "g", null), new ToolCallDelta(2, "x", null, null), new ToolCallDelta(3, null, null, null)], chunk.ToolCalls!);
    }

    [Fact]
    public void Reasoning_wins_over_reasoning_content_and_non_strings_read_as_nothing()
    {
        var chunk = Read("""{"id":"","choices":[{"delta":{"reasoning":"r","reasoning_content":"rc","content":null}}]}""")!;
        Assert.Equal("", chunk.Id);
        Assert.Equal("r", chunk.Reasoning);
        Assert.Null(chunk.Content);
        Assert.False(Read("""{"id":"a","choices":[]}""")!.HasDelta);
        Assert.False(Read("""{"id":"a","choices":[{"delta":"text"}],"usage":null}""")!.HasDelta);
    }

    [Theory]
    [InlineData("""{"id":"a","choices":[],"usage":{"prompt_tokens":1}}""")] // the usage report is rewritten
    [InlineData("""{"id":"a","error":null}""")]
    [InlineData("""{"choices":[{"delta":{"content":"no id"}}]}""")] // gets our id
    [InlineData("""{"id":7,"choices":[]}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""{"id":"a","choices":[5]}""")]
    [InlineData("""{"id":"a","choices":[{"delta":{"content":"cut""")]
    [InlineData("""{"id":"a"} trailing""")]
    public void Chunks_that_need_the_full_parse_read_as_null(string json) => Assert.Null(Read(json));
}
